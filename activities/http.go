package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/drillctl/drillctl/steps"
)

// Limits on what a step keeps of a response or a program's output.
const (
	maxBodyRead   = 1 << 20 // bytes read from a response
	maxOutputText = 4 << 10 // bytes of text kept in a step's output
)

// RunHTTP executes an http step: one request, checked against the expected
// status and JSON fields. ActionAt is the instant the request was sent.
func (a *Activities) RunHTTP(ctx context.Context, in steps.Input) (*steps.Result, error) {
	spec := in.Step.HTTP
	if spec == nil {
		return nil, temporal.NewNonRetryableApplicationError("step has no http spec", "BadStep", nil)
	}
	res := &steps.Result{StartedAt: a.now()}
	sec := a.secrets()
	req := httpRequest{Method: spec.Method, URL: spec.URL, Headers: spec.Headers, Body: spec.Body,
		ExpectStatus: spec.ExpectStatus, ExpectJSON: spec.ExpectJSON}
	stop := func() {}
	out, err := a.doHTTP(ctx, sec, req, func() { stop = a.markSent(ctx, res) })
	stop()
	res.EndedAt = a.now()
	res.Output = out
	if err != nil {
		return res, unknownOutcome(ctx, res, sec.scrubErr(err))
	}
	return res, nil
}

// httpRequest is a request and what its answer must be.
type httpRequest struct {
	Method       string
	URL          string
	Headers      map[string]string
	Body         string
	ExpectStatus []int
	ExpectJSON   map[string]string
}

// doHTTP sends req (resolving secrets in URL, headers and body) and checks the
// answer. sent, if not nil, is called just before the request goes out. The
// output holds the status, the start of the body and, when the body is JSON,
// its decoded value, all scrubbed of secrets.
func (a *Activities) doHTTP(ctx context.Context, sec *secrets, r httpRequest, sent func()) (map[string]any, error) {
	url, err := sec.resolve(r.URL)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), "Secret", nil)
	}
	headers, err := sec.resolveMap(r.Headers)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), "Secret", nil)
	}
	body, err := sec.resolve(r.Body)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), "Secret", nil)
	}
	method := strings.ToUpper(r.Method)
	if method == "" {
		method = http.MethodGet
		if body != "" {
			method = http.MethodPost
		}
	}
	var reader io.Reader
	if body != "" {
		reader = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, reader)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(sec.scrub(fmt.Sprintf("build request: %v", err)), "BadStep", nil)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if body != "" && req.Header.Get("Content-Type") == "" && json.Valid([]byte(body)) {
		req.Header.Set("Content-Type", "application/json")
	}
	if sent != nil {
		sent()
	}
	resp, err := a.client().Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, sec.scrub(url), err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyRead))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read body: %w", method, sec.scrub(url), err)
	}
	out := map[string]any{"status": resp.StatusCode, "body": sec.scrub(truncate(string(raw), maxOutputText))}
	var decoded any
	if len(raw) > 0 && json.Unmarshal(raw, &decoded) == nil {
		out["json"] = sec.scrubValue(decoded)
	}
	if !statusOK(resp.StatusCode, r.ExpectStatus) {
		want := "2xx"
		if len(r.ExpectStatus) > 0 {
			want = fmt.Sprint(r.ExpectStatus)
		}
		return out, unexpectedf("%s %s: status %d, expected %s: %s", method, sec.scrub(url), resp.StatusCode, want,
			sec.scrub(truncate(strings.TrimSpace(string(raw)), 200)))
	}
	for _, path := range sortedKeys(r.ExpectJSON) {
		want := r.ExpectJSON[path]
		got, ok := lookupPath(decoded, path)
		if !ok {
			return out, unexpectedf("%s %s: response has no JSON field %q (expected %q)", method, sec.scrub(url), path, want)
		}
		if text := jsonText(got); text != want {
			return out, unexpectedf("%s %s: JSON field %q is %q, expected %q", method, sec.scrub(url), path, sec.scrub(text), want)
		}
	}
	return out, nil
}

// unexpectedError is an answer that came but was not the expected one (a
// status, a JSON field, an exit code), as opposed to no answer at all.
type unexpectedError struct{ msg string }

func (e *unexpectedError) Error() string { return e.msg }

func unexpectedf(format string, args ...any) error {
	return &unexpectedError{msg: fmt.Sprintf(format, args...)}
}

func statusOK(code int, want []int) bool {
	if len(want) == 0 {
		return code >= 200 && code < 300
	}
	return slices.Contains(want, code)
}

// lookupPath finds a dotted path ("site.role", "items.0.id") in a decoded JSON value.
func lookupPath(v any, path string) (any, bool) {
	cur := v
	for _, part := range strings.Split(path, ".") {
		switch x := cur.(type) {
		case map[string]any:
			next, ok := x[part]
			if !ok {
				return nil, false
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			cur = x[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// jsonText renders a decoded JSON value as the text a playbook compares it with.
func jsonText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return "null"
	default:
		b, _ := json.Marshal(x)
		return string(bytes.TrimSpace(b))
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// tail keeps the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
