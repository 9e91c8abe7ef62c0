// Command profile runs davgate's gateway in-process from a config file and
// profiles it: the first request (which waits for the first feed refresh)
// and then -n requests of one workload. davgate has no pprof endpoint, so
// this is how the gateway owner sees where bench time goes.
//
//	go run ./bench/profile -config dg.yaml -path /dav/calendars/bench/feed/ \
//	    -X REPORT -body-file query.xml -n 50 -cpuprofile cpu.out -memprofile heap.out
//	go tool pprof -top cpu.out
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/davgate/davgate/adapters"
	_ "github.com/davgate/davgate/adapters/all"
	"github.com/davgate/davgate/gateway"
	"github.com/davgate/davgate/gateway/config"
)

func main() {
	cfgPath := flag.String("config", "", "davgate config (its listen address is ignored)")
	path := flag.String("path", "/", "request path")
	method := flag.String("X", "GET", "method")
	bodyFile := flag.String("body-file", "", "request body")
	depth := flag.String("depth", "1", "Depth header (empty for none)")
	user := flag.String("u", "bench:bench", "basic auth user:password")
	n := flag.Int("n", 50, "measured requests")
	conc := flag.Int("c", 1, "concurrency")
	coldProf := flag.String("coldprofile", "", "CPU profile of config load + first request (the refresh)")
	cpuProf := flag.String("cpuprofile", "", "CPU profile of the measured requests")
	memProf := flag.String("memprofile", "", "heap profile after the measured requests")
	flag.Parse()

	var body []byte
	if *bodyFile != "" {
		var err error
		if body, err = os.ReadFile(*bodyFile); err != nil {
			log.Fatal(err)
		}
	}
	startProf := func(p string) func() {
		if p == "" {
			return func() {}
		}
		f, err := os.Create(p)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		return func() { pprof.StopCPUProfile(); f.Close() }
	}

	ctx := context.Background()
	stop := startProf(*coldProf)
	t0 := time.Now()
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		log.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		log.Fatal(err)
	}
	lg := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	rt, err := config.Build(ctx, cfg, adapters.Env{Logger: lg, HTTP: http.DefaultClient, Now: time.Now})
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close()
	h, err := gateway.New(rt.Options)
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go func() { _ = http.Serve(ln, h) }()
	url := "http://" + ln.Addr().String() + *path
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conc * 2, DisableCompression: true}}
	do := func() int {
		req, _ := http.NewRequestWithContext(ctx, *method, url, bytes.NewReader(body))
		if *depth != "" {
			req.Header.Set("Depth", *depth)
		}
		if len(body) > 0 {
			req.Header.Set("Content-Type", "application/xml")
		}
		u, p, _ := cutColon(*user)
		req.SetBasicAuth(u, p)
		resp, err := client.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	st := do()
	stop()
	fmt.Printf("first request: status %d after %v (config load, build, refresh, answer)\n", st, time.Since(t0))

	stop = startProf(*cpuProf)
	t1 := time.Now()
	var wg sync.WaitGroup
	per := *n / *conc
	for range *conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range per {
				do()
			}
		}()
	}
	wg.Wait()
	el := time.Since(t1)
	stop()
	fmt.Printf("%d requests: %.1f req/s (c=%d)\n", per**conc, float64(per**conc)/el.Seconds(), *conc)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("heap in use %.1f MiB, sys %.1f MiB\n", float64(ms.HeapInuse)/(1<<20), float64(ms.Sys)/(1<<20))
	if *memProf != "" {
		f, err := os.Create(*memProf)
		if err != nil {
			log.Fatal(err)
		}
		_ = pprof.WriteHeapProfile(f)
		f.Close()
	}
}

func cutColon(s string) (string, string, bool) {
	for i := range len(s) {
		if s[i] == ':' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
