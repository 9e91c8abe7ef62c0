// Package all registers every adapter type with a blank import.
package all

import (
	_ "github.com/davgate/davgate/adapters/ics"    // ICS feeds
	_ "github.com/davgate/davgate/adapters/memory" // in-memory reference adapter
)
