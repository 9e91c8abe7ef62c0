// Package api holds the wire-level names the google adapter shares between
// its translation code, its I/O code and its tests: aliases of the
// generated Calendar v3 and People v1 types, the keys davgate stores in
// Google's extended properties, and the request parameters that must be
// identical between a full and an incremental sync.
package api

import (
	calendar "google.golang.org/api/calendar/v3"
	people "google.golang.org/api/people/v1"
)

// Aliases keep translate.go's signatures short without hiding that these
// are the generated types.
type (
	Event                   = calendar.Event
	EventDateTime           = calendar.EventDateTime
	EventReminder           = calendar.EventReminder
	EventReminders          = calendar.EventReminders
	EventAttendee           = calendar.EventAttendee
	EventOrganizer          = calendar.EventOrganizer
	EventExtendedProperties = calendar.EventExtendedProperties
	Person                  = people.Person
)

// Keys in Event.ExtendedProperties.Private. Values longer than
// ChunkSize are split over Key, Key+".1", Key+".2", ... because Google
// limits one value to 1024 characters.
const (
	// PropID holds the client's object ID when it is not the event id
	// itself (IDs that are not valid Google ids).
	PropID = "dg.id"
	// PropExtra holds iCalendar data with no Google field: unknown
	// properties, unmappable alarms and (master only) VTIMEZONEs, as a
	// small iCalendar text.
	PropExtra = "dg.x"
	// PropFlags holds a comma list of shape flags (see translate.go)
	// that make the round-trip exact where Google normalises.
	PropFlags = "dg.f"
	// ChunkSize is the longest value davgate writes under one key.
	ChunkSize = 1000
)

// EventsPage is the subset of an events.list response the golden tests
// feed to the translator.
type EventsPage struct {
	TimeZone         string           `json:"timeZone,omitempty"`
	DefaultReminders []*EventReminder `json:"defaultReminders,omitempty"`
	Items            []*Event         `json:"items"`
}

// PersonFields lists the person fields davgate reads and writes. Page and
// sync calls must repeat exactly the first call's fields.
const PersonFields = "names,nicknames,emailAddresses,phoneNumbers,addresses,organizations,birthdays,events," +
	"biographies,urls,relations,photos,imClients,memberships,metadata,clientData"

// UpdatePersonFields are the fields updateContact replaces (photos and
// metadata are not updatable this way).
const UpdatePersonFields = "names,nicknames,emailAddresses,phoneNumbers,addresses,organizations,birthdays,events," +
	"biographies,urls,relations,imClients,memberships,clientData"
