package source

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/source/githubtest"
)

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestCheckAlerts: the access check reads one repository and one page of its alerts, each with
// per_page=1, through a personal token or an installation's, and reports each refusal as GitHub
// answered it (401 bad token, 403 no permission, 404 scanning off or unseen); it only reads.
func TestCheckAlerts(t *testing.T) {
	tests := []struct {
		name    string
		token   string
		setup   func(f *githubtest.Server)
		repo    string
		status  int // the APIError's, 0 for none
		reached string
	}{
		{"personal token", "gh-token", nil, repo, 0, "GET /user/repos GET /repos/" + repo + "/secret-scanning/alerts"},
		{"installation token", "gh-token", func(f *githubtest.Server) { f.SetInstallation(true) }, repo, 0,
			"GET /user/repos GET /installation/repositories GET /repos/" + repo + "/secret-scanning/alerts"},
		{"bad token", "nope", nil, "", 401, "GET /user/repos"},
		{"no permission", "gh-token", func(f *githubtest.Server) { f.Fail(`^GET /repos/.*/alerts$`, 403, 0, 1) }, repo, 403, ""},
		{"scanning off", "gh-token", func(f *githubtest.Server) { f.Fail(`^GET /repos/.*/alerts$`, 404, 0, 1) }, repo, 404, ""},
		{"rate limited", "gh-token", func(f *githubtest.Server) { f.Fail(`^GET /user/repos$`, 403, 30, 1) }, "", 403, "GET /user/repos"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := fakeWithRecorded(t)
			if tt.setup != nil {
				tt.setup(f)
			}
			var queries []string
			g, err := NewGitHub(GitHubOptions{APIURL: f.URL, Token: accesskey.NewSecret(tt.token), HTTPClient: &http.Client{
				Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
					queries = append(queries, r.URL.RawQuery)
					return http.DefaultTransport.RoundTrip(r)
				})}})
			if err != nil {
				t.Fatal(err)
			}
			got, err := g.CheckAlerts(context.Background())
			for _, q := range queries {
				if q != "per_page=1" {
					t.Errorf("a call with %q, want per_page=1", q)
				}
			}
			var apiErr *APIError
			switch {
			case tt.status != 0 && (!errors.As(err, &apiErr) || apiErr.Status != tt.status):
				t.Errorf("error %v, want HTTP %d", err, tt.status)
			case tt.status == 0 && err != nil:
				t.Errorf("error %v", err)
			}
			if got != tt.repo {
				t.Errorf("repository %q, want %q", got, tt.repo)
			}
			if tt.reached != "" && strings.Join(f.Calls(), " ") != tt.reached {
				t.Errorf("calls %q, want %q", f.Calls(), tt.reached)
			}
			for _, c := range f.Calls() {
				if !strings.HasPrefix(c, "GET ") {
					t.Errorf("a call that is not a read: %s", c)
				}
			}
			if err != nil && strings.Contains(err.Error(), "gh-token") {
				t.Errorf("the error holds the token: %v", err)
			}
		})
	}
	t.Run("no repository", func(t *testing.T) {
		f := githubtest.New("tok")
		t.Cleanup(f.Close)
		if _, err := newClient(t, f, "tok").CheckAlerts(context.Background()); !errors.Is(err, ErrNoRepository) {
			t.Errorf("error %v", err)
		}
	})
}
