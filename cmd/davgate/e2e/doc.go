// Package e2e runs real CalDAV clients against a davgate binary.
//
// The first test that needs it builds ./cmd/davgate once into TestMain's
// temporary directory; each test then starts its own ICS feed
// (an httptest server whose content the test can change), writes a config
// with a free port, starts "davgate serve" as a child process and drives one
// client against it: vdirsyncer + khal, python3-caldav and tsdav. A client
// that is not installed makes its test skip with a note on what to install;
// .ci/run installs them all.
//
// DAVGATE_E2E_TARGET=radicale points the same clients at Radicale instead,
// with an equivalent layout (a read-only "feed" calendar and a writable
// "work" calendar); this checks the client scripts themselves.
//
// See testdata/e2e/README.md.
package e2e
