// Package githubtest is a fake of the GitHub REST API calls respond makes for secret scanning
// (an alert, its locations, a blob, resolving the alert), for tests only: the client in
// rotate/source, respond serve, and the end-to-end tests of the built binary run against it. It
// keeps the alerts as JSON objects, so the recorded payloads of testdata/formats load as they are.
package githubtest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server is the fake API, at its root and under /api/v3 (GitHub Enterprise Server's base URL).
// Every call needs "Authorization: Bearer <Token>".
type Server struct {
	*httptest.Server
	Token string

	mu        sync.Mutex
	alerts    map[string]map[string]any // "owner/repo#n" → alert object
	locations map[string][]any
	blobs     map[string][]byte // "owner/repo@sha" → content
	calls     []string
	faults    []fault
	pageSize  int
	repos     []string // besides those of the alerts
	install   bool     // the token is a GitHub App installation's
}

type fault struct {
	pattern    *regexp.Regexp // matched against "METHOD /path"
	status     int
	retryAfter int
	times      int
}

// New starts a fake that accepts token.
func New(token string) *Server {
	s := &Server{Token: token, alerts: map[string]map[string]any{}, locations: map[string][]any{}, blobs: map[string][]byte{}, pageSize: 100}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

func alertKey(repo string, n int) string { return repo + "#" + strconv.Itoa(n) }

// AddAlert stores an alert (a JSON object as GET …/alerts/{n} answers) of repo, with its
// locations (the objects of GET …/locations).
func (s *Server) AddAlert(repo string, alert map[string]any, locations []any) {
	n := int(number(alert["number"]))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.alerts[alertKey(repo, n)] = alert
	s.locations[alertKey(repo, n)] = locations
}

// AddBlob stores a file's content under its blob SHA.
func (s *Server) AddBlob(repo, sha string, content []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blobs[repo+"@"+sha] = content
}

// AddRepo makes repo one the token reaches (a repository of an alert always is).
func (s *Server) AddRepo(repo string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repos = append(s.repos, repo)
}

// SetInstallation makes the token a GitHub App installation's: GET /user/repos answers 403
// ("Resource not accessible by integration") and GET /installation/repositories lists them.
func (s *Server) SetInstallation(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.install = on
}

// reposLocked lists the repositories the token reaches, sorted.
func (s *Server) reposLocked() []string {
	seen := map[string]bool{}
	out := []string{}
	add := func(r string) {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	for _, r := range s.repos {
		add(r)
	}
	for k := range s.alerts {
		add(k[:strings.LastIndex(k, "#")])
	}
	sort.Strings(out)
	return out
}

// SetPageSize sets the most locations per page (to test paging).
func (s *Server) SetPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageSize = n
}

// Fail answers the next times calls whose "METHOD /path" matches pattern with status (and a
// Retry-After of retryAfter seconds when it is positive).
func (s *Server) Fail(pattern string, status, retryAfter, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, fault{pattern: regexp.MustCompile(pattern), status: status, retryAfter: retryAfter, times: times})
}

// Alert returns a copy of the alert as it is now (nil when there is none).
func (s *Server) Alert(repo string, n int) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.alerts[alertKey(repo, n)]
	if !ok {
		return nil
	}
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	return out
}

// Calls lists the calls so far, as "METHOD /path".
func (s *Server) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

// Count counts the calls whose "METHOD /path" has prefix.
func (s *Server) Count(prefix string) int {
	n := 0
	for _, c := range s.Calls() {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

var (
	alertListRe = regexp.MustCompile(`^/repos/([^/]+/[^/]+)/secret-scanning/alerts$`)
	alertPathRe = regexp.MustCompile(`^/repos/([^/]+/[^/]+)/secret-scanning/alerts/([0-9]+)(/locations)?$`)
	blobPathRe  = regexp.MustCompile(`^/repos/([^/]+/[^/]+)/git/blobs/([0-9a-f]+)$`)
)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	call := r.Method + " " + r.URL.Path
	s.mu.Lock()
	s.calls = append(s.calls, call)
	for i := range s.faults {
		f := &s.faults[i]
		if f.times > 0 && f.pattern.MatchString(call) {
			f.times--
			s.mu.Unlock()
			if f.retryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(f.retryAfter))
			}
			writeJSON(w, f.status, map[string]string{"message": "injected failure"})
			return
		}
	}
	s.mu.Unlock()
	prefix := "" // GitHub Enterprise Server's base path
	if p, ok := strings.CutPrefix(r.URL.Path, "/api/v3/"); ok {
		prefix, r.URL.Path = "/api/v3", "/"+p
	}
	if r.Header.Get("Authorization") != "Bearer "+s.Token {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Bad credentials"})
		return
	}
	if m := blobPathRe.FindStringSubmatch(r.URL.Path); m != nil && r.Method == http.MethodGet {
		s.mu.Lock()
		b, ok := s.blobs[m[1]+"@"+m[2]]
		s.mu.Unlock()
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"sha": m[2], "size": len(b), "encoding": "base64",
			"content": wrap(base64.StdEncoding.EncodeToString(b))})
		return
	}
	if s.listing(w, r) {
		return
	}
	m := alertPathRe.FindStringSubmatch(r.URL.Path)
	if m == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
		return
	}
	n, _ := strconv.Atoi(m[2])
	key := alertKey(m[1], n)
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.alerts[key]
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
		return
	}
	switch {
	case m[3] != "" && r.Method == http.MethodGet:
		s.pageOfLocations(w, r, prefix, s.locations[key])
	case m[3] == "" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, a)
	case m[3] == "" && r.Method == http.MethodPatch:
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"message": "Problems parsing JSON"})
			return
		}
		state, _ := body["state"].(string)
		resolution, _ := body["resolution"].(string)
		if state != "resolved" && state != "open" || state == "resolved" && !validResolution(resolution) {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"message": "Validation Failed"})
			return
		}
		a["state"] = state
		if state == "resolved" {
			a["resolution"], a["resolved_at"] = resolution, time.Now().UTC().Format(time.RFC3339)
			a["resolution_comment"] = body["resolution_comment"]
		} else {
			a["resolution"], a["resolved_at"], a["resolution_comment"] = nil, nil, nil
		}
		writeJSON(w, http.StatusOK, a)
	default:
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"message": "Method Not Allowed"})
	}
}

// listing answers the list calls (GET /user/repos, /installation/repositories, a repository's
// alerts, per_page respected), and reports whether r was one.
func (s *Server) listing(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet {
		return false
	}
	per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
	if per <= 0 || per > 100 {
		per = 30
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	repos := s.reposLocked()
	page := func(n int) int { return min(n, per) }
	objs := func(names []string) []any {
		out := []any{}
		for _, n := range names[:page(len(names))] {
			out = append(out, map[string]any{"full_name": n, "private": true})
		}
		return out
	}
	switch m := alertListRe.FindStringSubmatch(r.URL.Path); {
	case r.URL.Path == "/user/repos" && s.install:
		writeJSON(w, http.StatusForbidden, map[string]string{"message": "Resource not accessible by integration"})
	case r.URL.Path == "/user/repos":
		writeJSON(w, http.StatusOK, objs(repos))
	case r.URL.Path == "/installation/repositories" && !s.install:
		writeJSON(w, http.StatusForbidden, map[string]string{"message": "Resource not accessible by personal access token"})
	case r.URL.Path == "/installation/repositories":
		writeJSON(w, http.StatusOK, map[string]any{"total_count": len(repos), "repositories": objs(repos)})
	case m != nil && !slices.Contains(repos, m[1]):
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
	case m != nil:
		var nums []int
		for k := range s.alerts {
			if repo, n, _ := strings.Cut(k, "#"); repo == m[1] {
				i, _ := strconv.Atoi(n)
				nums = append(nums, i)
			}
		}
		sort.Ints(nums)
		out := []any{}
		for _, n := range nums[:page(len(nums))] {
			out = append(out, s.alerts[alertKey(m[1], n)])
		}
		writeJSON(w, http.StatusOK, out)
	default:
		return false
	}
	return true
}

func validResolution(r string) bool {
	switch r {
	case "false_positive", "wont_fix", "revoked", "used_in_tests", "pattern_edited", "pattern_deleted":
		return true
	}
	return false
}

// pageOfLocations answers one page (per_page, page) with a Link header to the next.
func (s *Server) pageOfLocations(w http.ResponseWriter, r *http.Request, prefix string, all []any) {
	per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
	if per <= 0 || per > s.pageSize {
		per = min(30, s.pageSize)
	}
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if page <= 0 {
		page = 1
	}
	start := min((page-1)*per, len(all))
	end := min(start+per, len(all))
	if end < len(all) {
		next := *r.URL
		next.Path = prefix + next.Path
		q := next.Query()
		q.Set("page", strconv.Itoa(page+1))
		q.Set("per_page", strconv.Itoa(per))
		next.RawQuery = q.Encode()
		w.Header().Set("Link", fmt.Sprintf(`<%s%s>; rel="next"`, s.URL, next.String()))
	}
	out := all[start:end]
	if out == nil {
		out = []any{}
	}
	writeJSON(w, http.StatusOK, out)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// wrap breaks base64 into 60-character lines, as GitHub does.
func wrap(s string) string {
	var b strings.Builder
	for len(s) > 60 {
		b.WriteString(s[:60] + "\n")
		s = s[60:]
	}
	b.WriteString(s)
	return b.String()
}

func number(v any) float64 {
	switch n := v.(type) {
	case float64:
		return n
	case int:
		return float64(n)
	case json.Number:
		f, _ := n.Float64()
		return f
	}
	return 0
}
