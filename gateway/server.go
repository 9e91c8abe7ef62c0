package gateway

import (
	"net/http"
)

// Server serves the DAV surface, /healthz and /metrics.
type Server struct {
	opts Options
}

// New builds a Server.
func New(opts Options) (*Server, error) {
	return &Server{opts: opts}, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	http.Error(w, "not implemented yet", http.StatusNotImplemented)
}
