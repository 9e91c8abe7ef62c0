// Package all registers every adapter type with a blank import.
package all

import (
	_ "github.com/davgate/davgate/adapters/caldav" // any CalDAV/CardDAV server (migration source and target)
	_ "github.com/davgate/davgate/adapters/ews"    // Exchange Web Services (calendars)
	_ "github.com/davgate/davgate/adapters/google" // Google Calendar and Contacts
	_ "github.com/davgate/davgate/adapters/ics"    // ICS feeds
	_ "github.com/davgate/davgate/adapters/memory" // in-memory reference adapter
	_ "github.com/davgate/davgate/adapters/vdir"   // vdir folders (export target)
)
