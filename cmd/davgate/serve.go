package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/gateway"
	"github.com/davgate/davgate/gateway/config"
)

// shutdownTimeout bounds how long in-flight requests may finish after
// SIGINT/SIGTERM.
const shutdownTimeout = 15 * time.Second

func serve(ctx context.Context, args []string, stderr io.Writer) int {
	path, ok := configFlag("serve", args, stderr)
	if !ok {
		return 2
	}
	cfg, ok := loadConfig(path, stderr)
	if !ok {
		return 1
	}
	log := cfg.Log.NewLogger(stderr)
	if os.Getenv("GOGC") == "" {
		// davgate holds parsed feeds; collecting at 35% heap growth keeps
		// resident memory under 10× the feeds' size for a little CPU.
		debug.SetGCPercent(35)
	}
	if err := serveConfig(ctx, cfg, log); err != nil {
		log.Error("davgate stopped", "err", err)
		return 1
	}
	return 0
}

// upstreamClient is the adapters' HTTP client: bounded at every stage so a
// stuck upstream cannot hold DAV requests forever.
func upstreamClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSHandshakeTimeout = 10 * time.Second
	tr.ResponseHeaderTimeout = 30 * time.Second
	tr.MaxIdleConnsPerHost = 8
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}
}

func serveConfig(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	rt, err := config.Build(ctx, cfg, adapters.Env{Logger: log, HTTP: upstreamClient(), Now: time.Now})
	if err != nil {
		return err
	}
	defer func() {
		if err := rt.Close(); err != nil {
			log.Warn("closing adapters", "err", err)
		}
	}()
	handler, err := gateway.New(rt.Options)
	if err != nil {
		return fmt.Errorf("start gateway: %w", err)
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w; change listen: in %s", cfg.Listen, err, cfg.File)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute, // bodies are bounded by max_body_bytes
		WriteTimeout:      5 * time.Minute, // REPORTs over slow upstreams
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	if cfg.TLS.Enabled() {
		cert, err := tls.LoadX509KeyPair(cfg.TLS.CertFile, cfg.TLS.KeyFile)
		if err != nil {
			_ = ln.Close()
			return fmt.Errorf("tls: load cert_file %s and key_file %s: %w", cfg.TLS.CertFile, cfg.TLS.KeyFile, err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	users, sources, instances := cfg.Counts()
	log.Info("davgate listening", "url", listenURL(ln.Addr(), cfg.TLS.Enabled()),
		"version", versionString(), "users", users, "sources", sources, "instances", instances)
	// A login that works with the password "demo" is worth a loud line:
	// it lets `make run` show the credentials, and warns anyone else.
	if rt.Options.Auth.Authenticate(ctx, "demo", "demo") {
		log.Warn("demo credentials are active; do not expose this config", "user", "demo", "password", "demo")
	}

	errc := make(chan error, 1)
	go func() {
		if cfg.TLS.Enabled() {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("davgate stopped")
	return nil
}

// listenURL is the URL to give clients: unspecified hosts (0.0.0.0, ::)
// become localhost, which works from the same machine.
func listenURL(addr net.Addr, tls bool) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	scheme := "http"
	if tls {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port) + "/"
}
