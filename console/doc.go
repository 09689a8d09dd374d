// Package console is drillctl's web console: the drills (live, with their
// gates, pages and abort), the evidence bundles and their verification, a
// small register and the schedules, for DR coordinators and compliance
// officers who do not live in a terminal. `drillctl dev` serves it beside
// the embedded server and `drillctl serve` against any Temporal.
//
// The pages are rendered on the server with html/template, in the five
// languages of the reports (package i18n's catalogs), and a little plain
// JavaScript (assets/console.js) polls a drill's live fragment every second
// and shows instants in the viewer's time zone. Everything it serves is
// embedded (embed.FS), so one `go build` makes the whole binary: there is
// no Node.js step at build time, because a bundler would add a second
// toolchain to every build and to CI for a few hundred lines of script,
// and every page works without JavaScript anyway (forms post, pages
// reload).
//
// Who may do what comes from the playbook of each drill: its starters
// start drills, the approvers of a gate decide it, a paged contact
// acknowledges their own page, starters, approvers and the initiator may
// abort; everyone signed in may read. The server refuses (403) what the
// page would not offer. Decisions are made as the signed-in person, with
// Via "console"; a playbook that requires signed decisions (identity:
// signed) gets the exact CLI command instead of a button, since the
// console holds nobody's SSH key.
//
// People sign in with a one-time link (package acklink's signed, expiring
// tokens, with the console's own key) or with OpenID Connect. Sessions are
// HMAC-signed cookies (Secure, HttpOnly, SameSite=Strict) and every POST
// carries the session's CSRF token.
//
// The package talks to Temporal only through Backend (Temporal implements
// it) and never writes evidence: it reads bundles through package evidence.
package console
