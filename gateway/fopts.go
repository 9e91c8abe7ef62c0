package gateway

import "github.com/davgate/davgate/adapters/filter"

func (s *Server) filterOptions() []filter.Option { return nil }
