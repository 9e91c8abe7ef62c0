//go:build race

package e2e

// raceEnabled makes the e2e binary build davgate with -race too, so data
// races the real clients provoke in the gateway fail the test.
const raceEnabled = true
