// Command staticsrv serves one file's bytes from memory with Go's net/http:
// the GET baseline of the benchmarks, and the HTTP origin of the feed when
// measuring conditional refreshes.
//
// Every path answers with the same bytes, a strong ETag and Last-Modified,
// so conditional requests get 304. GET /_stats returns the request counts
// as JSON (requests, conditional, not_modified, bytes).
//
//	staticsrv -file object.ics -addr 127.0.0.1:8099 -type text/calendar
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"sync/atomic"
	"time"
)

func main() {
	file := flag.String("file", "", "file to serve")
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	ctype := flag.String("type", "text/calendar; charset=utf-8", "Content-Type")
	flag.Parse()
	data, err := os.ReadFile(*file)
	if err != nil {
		log.Fatal(err)
	}
	sum := sha256.Sum256(data)
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	mod := time.Now().UTC().Truncate(time.Second)
	var reqs, cond, notMod, sent atomic.Int64

	mux := http.NewServeMux()
	mux.HandleFunc("GET /_stats", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]int64{
			"requests": reqs.Load(), "conditional": cond.Load(), "not_modified": notMod.Load(), "bytes": sent.Load(),
		})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		reqs.Add(1)
		h := w.Header()
		h.Set("Content-Type", *ctype)
		h.Set("ETag", etag)
		h.Set("Last-Modified", mod.Format(http.TimeFormat))
		if r.Header.Get("If-None-Match") != "" || r.Header.Get("If-Modified-Since") != "" {
			cond.Add(1)
			if inm := r.Header.Get("If-None-Match"); inm == etag ||
				(inm == "" && r.Header.Get("If-Modified-Since") == mod.Format(http.TimeFormat)) {
				notMod.Add(1)
				w.WriteHeader(http.StatusNotModified)
				return
			}
		}
		h.Set("Content-Length", fmt.Sprint(len(data)))
		if r.Method == http.MethodHead {
			return
		}
		n, _ := w.Write(data)
		sent.Add(int64(n))
	})
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
