// Package ewstest is a stateful fake Exchange Web Services (EWS) server for
// tests: SOAP 1.1 on an httptest.Server, answering the operations a
// CalDAV/CardDAV gateway needs with the element names, nesting, prefixes
// and XSD element order of real Exchange 2013+ responses (checked against
// recorded responses in ../shared/fixtures/ews).
//
// Clients reach it only through URL(); tests seed and change mailbox
// contents ("Exchange-side changes") with the Server and Mailbox methods,
// and inject failures with Fail and Inject.
package ewstest

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"
)

// Option configures a Server.
type Option func(*config)

type config struct {
	user, password string
	bearer         string
	primary        string
	mailboxes      []string
	version        serverVersion
	impersonation  bool
	now            func() time.Time
}

type serverVersion struct {
	major, minor, build, minorBuild int
	name                            string
}

// WithBasicAuth sets the HTTP Basic credentials (default
// "user@example.test" / "secret"). An empty user disables Basic.
func WithBasicAuth(user, password string) Option {
	return func(c *config) { c.user, c.password = user, password }
}

// WithBearer accepts "Authorization: Bearer <token>" (OAuth).
func WithBearer(token string) Option { return func(c *config) { c.bearer = token } }

// WithMailbox sets the primary mailbox address (default: the Basic user if
// it is an address, else "user@example.test").
func WithMailbox(addr string) Option { return func(c *config) { c.primary = addr } }

// WithMailboxes creates further mailboxes at start (for impersonation and
// free/busy of other people).
func WithMailboxes(addrs ...string) Option {
	return func(c *config) { c.mailboxes = append(c.mailboxes, addrs...) }
}

// WithImpersonation allows (default) or denies ExchangeImpersonation;
// denied requests get an ErrorImpersonateUserDenied fault.
func WithImpersonation(allowed bool) Option { return func(c *config) { c.impersonation = allowed } }

// WithServerVersion sets ServerVersionInfo (default 15.1.2507.6 V2017_07_11,
// an Exchange 2016 CU build as DavMail saw it).
func WithServerVersion(major, minor, build, minorBuild int, version string) Option {
	return func(c *config) { c.version = serverVersion{major, minor, build, minorBuild, version} }
}

// WithClock sets the time source for DateTimeCreated, LastModifiedTime etc.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// Server is the fake EWS endpoint.
type Server struct {
	ts  *httptest.Server
	cfg config

	mu        sync.Mutex
	mailboxes map[string]*Mailbox
	primary   *Mailbox
	seq       int64
	idSalt    string
	epoch     int // bumped by InvalidateSyncStates
	calls     map[string]int
	failures  map[string][]*Failure
	requests  []Request
}

// Request is one recorded SOAP request.
type Request struct {
	Operation string
	Mailbox   string
	Header    http.Header
}

// New starts a fake EWS server.
func New(opts ...Option) *Server {
	cfg := config{
		user: "user@example.test", password: "secret",
		version:       serverVersion{15, 1, 2507, 6, "V2017_07_11"},
		impersonation: true,
		now:           func() time.Time { return time.Now().UTC().Truncate(time.Second) },
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.primary == "" {
		cfg.primary = "user@example.test"
		if strings.Contains(cfg.user, "@") {
			cfg.primary = cfg.user
		}
	}
	s := &Server{cfg: cfg, mailboxes: map[string]*Mailbox{}, calls: map[string]int{}, failures: map[string][]*Failure{}}
	s.idSalt = fmt.Sprintf("%p", s)
	s.mu.Lock()
	s.primary = s.newMailboxLocked(cfg.primary)
	for _, a := range cfg.mailboxes {
		if s.mailboxes[strings.ToLower(a)] == nil {
			s.newMailboxLocked(a)
		}
	}
	s.mu.Unlock()
	s.ts = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	return s
}

// URL is the EWS endpoint, ending in /EWS/Exchange.asmx.
func (s *Server) URL() string { return s.ts.URL + "/EWS/Exchange.asmx" }

// Close shuts the server down.
func (s *Server) Close() { s.ts.Close() }

func (s *Server) now() time.Time { return s.cfg.now().UTC().Truncate(time.Second) }

// Calls returns how often each operation was called (after authentication;
// failed injections count).
func (s *Server) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// ResetCalls zeroes the call counters and the request log.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = map[string]int{}
	s.requests = nil
}

// Requests returns the authenticated SOAP requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Mailbox returns the mailbox with the address, creating it (with the
// well-known folders) if needed.
func (s *Server) Mailbox(addr string) *Mailbox {
	s.mu.Lock()
	defer s.mu.Unlock()
	if mb := s.mailboxes[strings.ToLower(addr)]; mb != nil {
		return mb
	}
	return s.newMailboxLocked(addr)
}

// Primary returns the mailbox of the authenticated user.
func (s *Server) Primary() *Mailbox { return s.primary }

// InvalidateSyncStates makes every SyncState issued so far invalid
// (ErrorInvalidSyncStateData), as after a mailbox move.
func (s *Server) InvalidateSyncStates() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.epoch++
}

// ----- failure injection

// Failure describes an injected failure of an operation.
type Failure struct {
	// Times is how many calls fail (0 or less: every call until Clear).
	Times int
	// Code is an EWS ResponseCode. ErrorServerBusy is answered as Exchange
	// throttling does: HTTP 500 with an s:Fault whose detail carries
	// MessageXml/Value[@Name=BackOffMilliseconds] (unless InResponse).
	// Other codes come back as ResponseClass="Error" messages, one per
	// requested item, in an HTTP 200 response (unless Fault).
	Code string
	// Fault forces an s:Fault (HTTP 500) with faultcode a:<Code>.
	Fault bool
	// InResponse forces the ResponseMessage form for ErrorServerBusy.
	InResponse bool
	// BackOff is BackOffMilliseconds for ErrorServerBusy (default 5s).
	BackOff time.Duration
	// HTTPStatus answers a bare HTTP status (503 as IIS queueing does).
	HTTPStatus int
	// Delay sleeps before answering (slow responses); with no Code and no
	// HTTPStatus the call then succeeds normally.
	Delay time.Duration
}

// Fail makes the next times calls of op (e.g. "GetItem"; "*" for any)
// fail with the EWS response code. code "HTTP503" (or "HTTP<n>") answers
// that HTTP status instead; "Fault:<code>" forces an s:Fault.
func (s *Server) Fail(op string, times int, code string) {
	f := &Failure{Times: times, Code: code}
	switch {
	case strings.HasPrefix(code, "HTTP"):
		var n int
		fmt.Sscanf(code[4:], "%d", &n)
		f.Code, f.HTTPStatus = "", n
	case strings.HasPrefix(code, "Fault:"):
		f.Code, f.Fault = code[6:], true
	}
	s.Inject(op, *f)
}

// Slow delays the next times calls of op by d.
func (s *Server) Slow(op string, times int, d time.Duration) {
	s.Inject(op, Failure{Times: times, Delay: d})
}

// Inject queues a failure for op ("*" for any operation).
func (s *Server) Inject(op string, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times <= 0 {
		f.Times = -1
	}
	s.failures[op] = append(s.failures[op], &f)
}

// ClearFailures removes every injected failure.
func (s *Server) ClearFailures() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = map[string][]*Failure{}
}

func (s *Server) takeFailureLocked(op string) *Failure {
	for _, key := range []string{op, "*"} {
		q := s.failures[key]
		if len(q) == 0 {
			continue
		}
		f := q[0]
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				s.failures[key] = q[1:]
			}
		}
		c := *f
		return &c
	}
	return nil
}

// ----- HTTP

func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	switch {
	case strings.HasPrefix(h, "Basic ") && s.cfg.user != "":
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(h[6:]))
		if err != nil {
			return false
		}
		u, p, ok := strings.Cut(string(raw), ":")
		return ok && strings.EqualFold(u, s.cfg.user) && p == s.cfg.password
	case strings.HasPrefix(h, "Bearer ") && s.cfg.bearer != "":
		return strings.TrimSpace(h[7:]) == s.cfg.bearer
	}
	return false
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.URL.Path, "/EWS/Exchange.asmx") {
		http.NotFound(w, r)
		return
	}
	if !s.authorized(r) {
		if s.cfg.user != "" {
			w.Header().Add("WWW-Authenticate", `Basic realm="ewstest"`)
		}
		if s.cfg.bearer != "" {
			w.Header().Add("WWW-Authenticate", `Bearer client_id="00000002-0000-0ff1-ce00-000000000000", trusted_issuers="", token_types="app_asserting_user"`)
		}
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if r.Method == http.MethodGet {
		// Exchange answers GET on the endpoint with the service page.
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<html><body>You have created a service.</body></html>")
		return
	}
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	env, err := parseXML(http.MaxBytesReader(w, r.Body, 64<<20))
	if err != nil || env.Local != "Envelope" || env.Space != nsSOAP {
		s.writeFault(w, "", "ErrorSchemaValidation", "The request failed schema validation: "+fmt.Sprint(err), "")
		return
	}
	header, body := env.kid("Header"), env.kid("Body")
	if body == nil || len(body.Kids) == 0 {
		s.writeFault(w, "", "ErrorSchemaValidation", "The request failed schema validation: missing Body.", "")
		return
	}
	req := body.Kids[0]
	op := strings.TrimSuffix(req.Local, "Request") // GetUserAvailabilityRequest

	s.mu.Lock()
	s.calls[op]++
	fail := s.takeFailureLocked(op)
	s.mu.Unlock()

	if fail != nil && fail.Delay > 0 {
		select {
		case <-time.After(fail.Delay):
		case <-r.Context().Done():
			return
		}
	}
	if fail != nil && fail.HTTPStatus != 0 {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(fail.HTTPStatus)
		fmt.Fprintf(w, "<html><body><h2>HTTP Error %d</h2></body></html>", fail.HTTPStatus)
		return
	}

	ctx, ferr := s.newCtx(header, r)
	if ferr != nil {
		s.writeFault(w, "", ferr.code, ferr.msg, "")
		return
	}
	if fail != nil && fail.Code != "" {
		backoff := fail.BackOff
		if backoff == 0 {
			backoff = 5 * time.Second
		}
		if fail.Fault || (fail.Code == "ErrorServerBusy" && !fail.InResponse) {
			xmlDetail := ""
			if fail.Code == "ErrorServerBusy" {
				xmlDetail = fmt.Sprint(backoff.Milliseconds())
			}
			s.writeFault(w, ctx.version, fail.Code, messageText(fail.Code), xmlDetail)
			return
		}
		ctx.failCode = fail.Code
		if fail.Code == "ErrorServerBusy" {
			ctx.failBackoff = backoff
		}
	}

	s.mu.Lock()
	s.requests = append(s.requests, Request{Operation: op, Mailbox: ctx.mb.addr, Header: r.Header.Clone()})
	out, ferr2 := s.dispatch(ctx, req)
	s.mu.Unlock()
	if ferr2 != nil {
		s.writeFault(w, ctx.version, ferr2.code, ferr2.msg, "")
		return
	}
	s.writeEnvelope(w, out)
}

type soapFault struct{ code, msg string }

func (f *soapFault) Error() string { return f.code + ": " + f.msg }

// requestCtx is the per-request state from the SOAP header.
type requestCtx struct {
	s           *Server
	mb          *Mailbox
	version     string
	rank        int
	tz          string // TimeZoneContext Windows id
	failCode    string
	failBackoff time.Duration
}

var versionRanks = map[string]int{
	"Exchange2007": 1, "Exchange2007_SP1": 2, "Exchange2010": 3, "Exchange2010_SP1": 4,
	"Exchange2010_SP2": 5, "Exchange2013": 6, "Exchange2013_SP1": 7, "Exchange2015": 8, "Exchange2016": 9,
	"V2015_10_05": 9, "V2016_01_06": 9, "V2016_04_13": 9, "V2016_07_13": 9, "V2016_10_10": 9,
	"V2017_01_07": 9, "V2017_04_14": 9, "V2017_07_11": 9, "V2017_10_09": 9, "V2018_01_08": 9,
}

func (s *Server) newCtx(header *node, r *http.Request) (*requestCtx, *soapFault) {
	c := &requestCtx{s: s, version: "Exchange2007_SP1", rank: 2}
	if rsv := header.kid("RequestServerVersion"); rsv != nil {
		v := rsv.attr("Version")
		rank, ok := versionRanks[v]
		if !ok {
			return nil, &soapFault{"ErrorInvalidServerVersion", "The specified server version is invalid."}
		}
		c.version, c.rank = v, rank
	}
	if tz := header.at("TimeZoneContext", "TimeZoneDefinition"); tz != nil {
		c.tz = tz.attr("Id")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c.mb = s.primary
	if imp := header.at("ExchangeImpersonation", "ConnectingSID"); imp != nil {
		if !s.cfg.impersonation {
			return nil, &soapFault{"ErrorImpersonateUserDenied", "The account does not have permission to impersonate the requested user."}
		}
		var addr string
		for _, k := range []string{"PrimarySmtpAddress", "SmtpAddress", "PrincipalName"} {
			if v := imp.kid(k).text(); v != "" {
				addr = v
				break
			}
		}
		mb := s.mailboxes[strings.ToLower(addr)]
		if mb == nil {
			return nil, &soapFault{"ErrorNonExistentMailbox", "The SMTP address has no mailbox associated with it."}
		}
		c.mb = mb
	}
	return c, nil
}

func messageText(code string) string {
	switch code {
	case "ErrorServerBusy":
		return "The server cannot service this request right now. Try again later."
	case "ErrorItemNotFound":
		return "The specified object was not found in the store., The process failed to get the correct properties."
	case "ErrorFolderNotFound":
		return "The specified folder could not be found in the store."
	case "ErrorIrresolvableConflict":
		return "The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item., Property conflicts: "
	case "ErrorInvalidSyncStateData":
		return "Synchronization state data is corrupt or otherwise invalid."
	case "ErrorInvalidIdMalformed":
		return "Id is malformed."
	case "ErrorSendMeetingInvitationsRequired":
		return "SendMeetingInvitations attribute is required for calendar items."
	case "ErrorSendMeetingCancellationsRequired":
		return "SendMeetingCancellations attribute is required for calendar items."
	case "ErrorAffectedTaskOccurrencesRequired":
		return "AffectedTaskOccurrences attribute is required for task items."
	case "ErrorMimeContentConversionFailed":
		return "Content conversion failed."
	case "ErrorCalendarViewRangeTooBig":
		return "The time window specified is larger than the maximum allowed (2 years)."
	case "ErrorInvalidOperation":
		return "The operation is not valid."
	case "ErrorNameResolutionNoResults":
		return "No results were found."
	case "ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange":
		return "Occurrence index is out of recurrence range."
	case "ErrorInvalidPropertySet":
		return "Set action is invalid for property."
	}
	return "An internal server error occurred. The operation failed."
}

// ----- response envelope

func (s *Server) envelopeHead(w *xw) {
	v := s.cfg.version
	w.b.WriteString(`<?xml version="1.0" encoding="utf-8"?>`)
	w.open("s:Envelope", "xmlns:s", nsSOAP)
	w.open("s:Header")
	w.empty("h:ServerVersionInfo",
		"MajorVersion", fmt.Sprint(v.major), "MinorVersion", fmt.Sprint(v.minor),
		"MajorBuildNumber", fmt.Sprint(v.build), "MinorBuildNumber", fmt.Sprint(v.minorBuild),
		"Version", v.name,
		"xmlns:h", nsTypes, "xmlns", nsTypes,
		"xmlns:xsd", "http://www.w3.org/2001/XMLSchema", "xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance")
	w.close("s:Header")
}

func (s *Server) writeEnvelope(rw http.ResponseWriter, body string) {
	var w xw
	s.envelopeHead(&w)
	w.open("s:Body", "xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance", "xmlns:xsd", "http://www.w3.org/2001/XMLSchema")
	w.b.WriteString(body)
	w.close("s:Body")
	w.close("s:Envelope")
	rw.Header().Set("Content-Type", "text/xml; charset=utf-8")
	rw.WriteHeader(http.StatusOK)
	_, _ = rw.Write([]byte(w.b.String()))
}

// writeFault answers HTTP 500 with an s:Fault as Exchange does (ErrorServerBusy
// carries BackOffMilliseconds in detail/t:MessageXml).
func (s *Server) writeFault(rw http.ResponseWriter, _ string, code, msg, backoff string) {
	var w xw
	w.b.WriteString(`<?xml version="1.0" encoding="utf-8"?>`)
	w.open("s:Envelope", "xmlns:s", nsSOAP)
	w.open("s:Body")
	w.open("s:Fault")
	w.leaf("faultcode", "a:"+code, "xmlns:a", nsTypes)
	w.leaf("faultstring", msg, "xml:lang", "en-US")
	w.open("detail")
	w.leaf("e:ResponseCode", code, "xmlns:e", nsErrors)
	w.leaf("e:Message", msg, "xmlns:e", nsErrors)
	if backoff != "" {
		w.open("t:MessageXml", "xmlns:t", nsTypes)
		w.leaf("t:Value", backoff, "Name", "BackOffMilliseconds")
		w.close("t:MessageXml")
	}
	w.close("detail")
	w.close("s:Fault")
	w.close("s:Body")
	w.close("s:Envelope")
	rw.Header().Set("Content-Type", "text/xml; charset=utf-8")
	rw.WriteHeader(http.StatusInternalServerError)
	_, _ = rw.Write([]byte(w.b.String()))
}

// ----- dispatch

type opFunc func(c *requestCtx, req *node, w *xw) *soapFault

func (s *Server) dispatch(c *requestCtx, req *node) (string, *soapFault) {
	ops := map[string]opFunc{
		"GetFolder":            opGetFolder,
		"FindFolder":           opFindFolder,
		"SyncFolderHierarchy":  opSyncFolderHierarchy,
		"CreateFolder":         opCreateFolder,
		"DeleteFolder":         opDeleteFolder,
		"FindItem":             opFindItem,
		"GetItem":              opGetItem,
		"CreateItem":           opCreateItem,
		"UpdateItem":           opUpdateItem,
		"DeleteItem":           opDeleteItem,
		"SyncFolderItems":      opSyncFolderItems,
		"GetAttachment":        opGetAttachment,
		"CreateAttachment":     opCreateAttachment,
		"DeleteAttachment":     opDeleteAttachment,
		"GetUserAvailability":  opGetUserAvailability,
		"ResolveNames":         opResolveNames,
		"GetServerTimeZones":   opGetServerTimeZones,
		"ConvertId":            opConvertID,
		"GetUserConfiguration": opGetUserConfiguration,
	}
	fn := ops[strings.TrimSuffix(req.Local, "Request")]
	if fn == nil || req.Space != nsMsgs {
		return "", &soapFault{"ErrorInvalidRequest", "The request is invalid."}
	}
	var w xw
	var f *soapFault
	func() {
		defer func() {
			if r := recover(); r != nil {
				fmt.Fprintf(os.Stderr, "ewstest: panic in %s: %v\n%s", req.Local, r, debug.Stack())
				f = &soapFault{"ErrorInternalServerError", fmt.Sprintf("An internal server error occurred. The operation failed. (ewstest: %v)", r)}
			}
		}()
		f = fn(c, req, &w)
	}()
	if f != nil {
		return "", f
	}
	return w.b.String(), nil
}

// responses writes <m:OpResponse><m:ResponseMessages>…; each(msg) is called
// once per message by the op.
type respWriter struct {
	w  *xw
	op string
	c  *requestCtx
}

func (c *requestCtx) begin(w *xw, op string) *respWriter {
	w.open("m:"+op+"Response", "xmlns:m", nsMsgs, "xmlns:t", nsTypes)
	w.open("m:ResponseMessages")
	return &respWriter{w: w, op: op, c: c}
}

func (r *respWriter) end() {
	r.w.close("m:ResponseMessages")
	r.w.close("m:" + r.op + "Response")
}

// ok opens a Success message; the caller writes the payload then calls done.
func (r *respWriter) ok() {
	r.w.open("m:"+r.op+"ResponseMessage", "ResponseClass", "Success")
	r.w.leaf("m:ResponseCode", "NoError")
}

func (r *respWriter) done() { r.w.close("m:" + r.op + "ResponseMessage") }

// fail writes a complete Error message: MessageText, ResponseCode,
// DescriptiveLinkKey, MessageXml, then the op's (empty) payload element.
func (r *respWriter) fail(code string, payload ...string) {
	w := r.w
	w.open("m:"+r.op+"ResponseMessage", "ResponseClass", "Error")
	w.leaf("m:MessageText", messageText(code))
	w.leaf("m:ResponseCode", code)
	w.leaf("m:DescriptiveLinkKey", "0")
	if code == "ErrorServerBusy" && r.c.failBackoff > 0 {
		w.open("m:MessageXml")
		w.leaf("t:Value", fmt.Sprint(r.c.failBackoff.Milliseconds()), "Name", "BackOffMilliseconds")
		w.close("m:MessageXml")
	}
	for _, p := range payload {
		w.empty(p)
	}
	r.done()
}

// injected reports whether an injected ResponseCode failure applies, and
// writes it.
func (r *respWriter) injected(payload ...string) bool {
	if r.c.failCode == "" {
		return false
	}
	r.fail(r.c.failCode, payload...)
	return true
}
