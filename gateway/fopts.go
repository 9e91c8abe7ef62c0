package gateway

import (
	"time"

	"github.com/emersion/go-ical"

	"github.com/davgate/davgate/adapters/filter"
	"github.com/davgate/davgate/adapters/icalfix"
)

// filterOptions resolves TZIDs as the ICS adapter does: IANA, Windows and
// Outlook names first (cached), then the object's own VTIMEZONEs, built only
// when needed because most objects never get there.
func (s *Server) filterOptions(cal *ical.Calendar) []filter.Option {
	return []filter.Option{filter.WithResolver(s.filterResolver(cal))}
}

func (s *Server) filterResolver(cal *ical.Calendar) func(string) (*time.Location, error) {
	var own icalfix.Resolver
	return func(tzid string) (*time.Location, error) {
		loc, err := icalfix.LoadLocation(tzid)
		if err == nil || cal == nil {
			return loc, err
		}
		if own == nil {
			own = icalfix.NewResolver(cal)
		}
		return own(tzid)
	}
}
