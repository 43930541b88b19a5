package source

import (
	"context"
	"errors"
	"net/http"
)

// ErrNoRepository says the token reaches no repository, so no alert can be read with it.
var ErrNoRepository = errors.New("the token reaches no repository")

// CheckAlerts reads, with the configured token and base URL, one secret-scanning alert page of
// one repository the token reaches (respond doctor): the first of GET /user/repos (a personal
// token), else of GET /installation/repositories (a GitHub App's installation token, which
// /user/repos refuses with 403), then GET /repos/{repo}/secret-scanning/alerts, each with
// per_page=1. It returns the repository read. Nothing is written.
func (g *GitHub) CheckAlerts(ctx context.Context) (string, error) {
	repo, err := g.firstRepository(ctx)
	if err != nil {
		return "", err
	}
	var list []alertJSON
	if _, err := g.do(ctx, http.MethodGet, "/repos/"+repo+"/secret-scanning/alerts?per_page=1", nil, &list); err != nil {
		return repo, err
	}
	return repo, nil
}

func (g *GitHub) firstRepository(ctx context.Context) (string, error) {
	type repoJSON struct {
		FullName string `json:"full_name"`
	}
	var mine []repoJSON
	_, err := g.do(ctx, http.MethodGet, "/user/repos?per_page=1", nil, &mine)
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusForbidden && apiErr.RetryAfter == 0 {
		var inst struct {
			Repositories []repoJSON `json:"repositories"`
		}
		if _, err := g.do(ctx, http.MethodGet, "/installation/repositories?per_page=1", nil, &inst); err != nil {
			return "", err
		}
		mine = inst.Repositories
	} else if err != nil {
		return "", err
	}
	if len(mine) == 0 {
		return "", ErrNoRepository
	}
	r := AlertRef{Repository: mine[0].FullName, Number: 1}
	if !r.Valid() {
		return "", errors.New("GitHub named a repository that does not fit an API path")
	}
	return r.Repository, nil
}
