package ews

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/adapters/ews/api"
)

const okGetFolder = `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><h:ServerVersionInfo MajorVersion="15" MinorVersion="2" MajorBuildNumber="1748" MinorBuildNumber="10" Version="V2017_07_11" xmlns:h="http://schemas.microsoft.com/exchange/services/2006/types"/></s:Header><s:Body><m:GetFolderResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><m:ResponseMessages><m:GetFolderResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Folders><t:CalendarFolder><t:FolderId Id="F1" ChangeKey="AQ"/><t:DisplayName>Calendar</t:DisplayName></t:CalendarFolder></m:Folders></m:GetFolderResponseMessage></m:ResponseMessages></m:GetFolderResponse></s:Body></s:Envelope>`

func busyFault(ms int) string {
	return fmt.Sprintf(`<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:ErrorServerBusy</faultcode><faultstring xml:lang="en-US">The server cannot service this request right now. Try again later.</faultstring><detail><e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">ErrorServerBusy</e:ResponseCode><e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">The server cannot service this request right now. Try again later.</e:Message><t:MessageXml xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><t:Value Name="BackOffMilliseconds">%d</t:Value></t:MessageXml></detail></s:Fault></s:Body></s:Envelope>`, ms)
}

func errorMessage(code string) string {
	return `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><m:UpdateItemResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><m:ResponseMessages><m:UpdateItemResponseMessage ResponseClass="Error"><m:MessageText>failed</m:MessageText><m:ResponseCode>` + code + `</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey></m:UpdateItemResponseMessage></m:ResponseMessages></m:UpdateItemResponse></s:Body></s:Envelope>`
}

// script serves one canned answer per request, recording requests.
type script struct {
	mu      sync.Mutex
	answers []func(w http.ResponseWriter)
	reqs    []*http.Request
	bodies  []string
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.reqs = append(s.reqs, r)
	s.bodies = append(s.bodies, string(b))
	var f func(http.ResponseWriter)
	if len(s.answers) > 0 {
		f, s.answers = s.answers[0], s.answers[1:]
	}
	s.mu.Unlock()
	if f == nil {
		http.Error(w, "no more answers", http.StatusTeapot)
		return
	}
	f(w)
}

func xmlAnswer(status int, body string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

func newTestClient(t *testing.T, s *script, mod func(*ClientConfig)) *Client {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	cfg := ClientConfig{URL: srv.URL + "/EWS/Exchange.asmx", HTTP: srv.Client(), Auth: AuthBasic, Username: "u", Password: "p",
		MaxRetries: 3, MaxRetryWait: 2 * time.Second, RetryBaseDelay: time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	return NewClient(cfg)
}

func getFolder() *api.GetFolder {
	return &api.GetFolder{FolderShape: api.FolderShape{BaseShape: "IdOnly"},
		FolderIDs: api.FolderRef{Distinguished: &api.DistinguishedFolderID{ID: "calendar"}}.Refs()}
}

func TestClientHeadersAndPreemptiveBasic(t *testing.T) {
	s := &script{answers: []func(http.ResponseWriter){xmlAnswer(200, okGetFolder)}}
	c := newTestClient(t, s, func(c *ClientConfig) { c.Impersonate = "boss@example.com" })
	msgs, err := c.Call(t.Context(), "GetFolder", read, getFolder())
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].Folders.List[0].DisplayName != "Calendar" {
		t.Fatalf("msgs = %+v", msgs)
	}
	r := s.reqs[0]
	if u, p, ok := r.BasicAuth(); !ok || u != "u" || p != "p" {
		t.Error("Basic credentials not sent on the first request")
	}
	if got := r.Header.Get("X-AnchorMailbox"); got != "boss@example.com" {
		t.Errorf("X-AnchorMailbox = %q", got)
	}
	if ct := r.Header.Get("Content-Type"); ct != "text/xml; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	body := s.bodies[0]
	for _, want := range []string{`<t:RequestServerVersion Version="Exchange2013_SP1">`, `<t:ExchangeImpersonation><t:ConnectingSID><t:SmtpAddress>boss@example.com</t:SmtpAddress>`,
		`<m:GetFolder>`, `<DistinguishedFolderId Id="calendar">`} {
		if !strings.Contains(body, want) {
			t.Errorf("request lacks %s:\n%s", want, body)
		}
	}
	if v := c.ServerVersion(); v == nil || v.Version != "V2017_07_11" {
		t.Errorf("server version = %+v", v)
	}
}

func TestClientOAuth2Bearer(t *testing.T) {
	s := &script{answers: []func(http.ResponseWriter){xmlAnswer(200, okGetFolder)}}
	c := newTestClient(t, s, func(c *ClientConfig) {
		c.Auth = AuthOAuth2
		c.TokenSource = oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "tok", TokenType: "Bearer"})
	})
	if _, err := c.Call(t.Context(), "GetFolder", read, getFolder()); err != nil {
		t.Fatal(err)
	}
	if got := s.reqs[0].Header.Get("Authorization"); got != "Bearer tok" {
		t.Errorf("Authorization = %q", got)
	}
}

func TestClientThrottling(t *testing.T) {
	t.Run("ServerBusyRetried", func(t *testing.T) {
		s := &script{answers: []func(http.ResponseWriter){xmlAnswer(500, busyFault(20)), xmlAnswer(200, okGetFolder)}}
		c := newTestClient(t, s, nil)
		start := time.Now()
		if _, err := c.Call(t.Context(), "GetFolder", read, getFolder()); err != nil {
			t.Fatal(err)
		}
		if len(s.reqs) != 2 || time.Since(start) < 20*time.Millisecond {
			t.Errorf("%d requests after %v; want a retry after the back-off", len(s.reqs), time.Since(start))
		}
	})
	t.Run("ServerBusyWriteRetried", func(t *testing.T) {
		s := &script{answers: []func(http.ResponseWriter){xmlAnswer(500, busyFault(1)), xmlAnswer(200, okGetFolder)}}
		c := newTestClient(t, s, nil)
		if _, err := c.Call(t.Context(), "CreateItem", write, getFolder()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ServerBusyTooLong", func(t *testing.T) {
		s := &script{answers: []func(http.ResponseWriter){xmlAnswer(500, busyFault(300000))}}
		c := newTestClient(t, s, nil)
		_, err := c.Call(t.Context(), "GetFolder", read, getFolder())
		var ra *adapters.RetryAfterError
		if !errors.As(err, &ra) || ra.After < 290*time.Second || !errors.Is(err, adapters.ErrUnavailable) {
			t.Fatalf("err = %v; want RetryAfterError of ~300s", err)
		}
		// The back-off applies to the next call without asking the server.
		_, err = c.Call(t.Context(), "GetFolder", read, getFolder())
		if !errors.As(err, &ra) || len(s.reqs) != 1 {
			t.Errorf("second call: err %v after %d requests", err, len(s.reqs))
		}
	})
	t.Run("HTTP503", func(t *testing.T) {
		s := &script{answers: []func(http.ResponseWriter){xmlAnswer(503, ""), xmlAnswer(503, ""), xmlAnswer(200, okGetFolder)}}
		c := newTestClient(t, s, nil)
		if _, err := c.Call(t.Context(), "UpdateItem", write, getFolder()); err != nil {
			t.Fatal(err)
		}
		if len(s.reqs) != 3 {
			t.Errorf("%d requests", len(s.reqs))
		}
	})
	t.Run("HTTP503Exhausted", func(t *testing.T) {
		s := &script{}
		for range 5 {
			s.answers = append(s.answers, xmlAnswer(503, ""))
		}
		c := newTestClient(t, s, nil)
		_, err := c.Call(t.Context(), "GetFolder", read, getFolder())
		var ra *adapters.RetryAfterError
		if !errors.As(err, &ra) || len(s.reqs) != 4 {
			t.Errorf("err %v after %d requests; want RetryAfterError after 1+3 attempts", err, len(s.reqs))
		}
	})
	t.Run("WriteNotRetriedOn500", func(t *testing.T) {
		s := &script{answers: []func(http.ResponseWriter){xmlAnswer(500, "oops"), xmlAnswer(200, okGetFolder)}}
		c := newTestClient(t, s, nil)
		_, err := c.Call(t.Context(), "CreateItem", write, getFolder())
		if err == nil || len(s.reqs) != 1 {
			t.Errorf("err %v after %d requests; a 500 on a write must be reported, not retried", err, len(s.reqs))
		}
	})
	t.Run("ReadRetriedOn500", func(t *testing.T) {
		s := &script{answers: []func(http.ResponseWriter){xmlAnswer(500, "oops"), xmlAnswer(200, okGetFolder)}}
		c := newTestClient(t, s, nil)
		if _, err := c.Call(t.Context(), "GetFolder", read, getFolder()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("Canceled", func(t *testing.T) {
		s := &script{answers: []func(http.ResponseWriter){xmlAnswer(500, busyFault(5000))}}
		c := newTestClient(t, s, func(c *ClientConfig) { c.MaxRetryWait = time.Minute })
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		if _, err := c.Call(ctx, "GetFolder", read, getFolder()); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v", err)
		}
	})
}

func TestClientHTTPErrors(t *testing.T) {
	for _, tc := range []struct {
		status int
		want   error
	}{{401, adapters.ErrUnauthorized}, {403, adapters.ErrUnauthorized}} {
		s := &script{answers: []func(http.ResponseWriter){xmlAnswer(tc.status, "")}}
		c := newTestClient(t, s, nil)
		if _, err := c.Call(t.Context(), "GetFolder", read, getFolder()); !errors.Is(err, tc.want) {
			t.Errorf("HTTP %d: err = %v, want %v", tc.status, err, tc.want)
		}
	}
}

func TestErrorFromResponse(t *testing.T) {
	for code, want := range map[string]error{
		"ErrorItemNotFound":                          adapters.ErrNotFound,
		"ErrorFolderNotFound":                        adapters.ErrNotFound,
		"ErrorIrresolvableConflict":                  adapters.ErrPrecondition,
		"ErrorStaleObject":                           adapters.ErrPrecondition,
		"ErrorChangeKeyRequiredForWriteOperations":   adapters.ErrPrecondition,
		"ErrorInvalidSyncStateData":                  adapters.ErrInvalidToken,
		"ErrorAccessDenied":                          adapters.ErrReadOnly,
		"ErrorImpersonateUserDenied":                 adapters.ErrUnauthorized,
		"ErrorNonExistentMailbox":                    adapters.ErrUnauthorized,
		"ErrorMimeContentConversionFailed":           adapters.ErrUnsupported,
		"ErrorCalendarEndDateIsEarlierThanStartDate": adapters.ErrInvalid,
		"ErrorMailboxStoreUnavailable":               adapters.ErrUnavailable,
	} {
		s := &script{answers: []func(http.ResponseWriter){xmlAnswer(200, errorMessage(code))}}
		c := newTestClient(t, s, nil)
		msgs, err := c.Call(t.Context(), "UpdateItem", write, getFolder())
		if err != nil {
			t.Fatalf("%s: call failed: %v", code, err)
		}
		if err := check("UpdateItem", write, msgs[0]); !errors.Is(err, want) {
			t.Errorf("%s: err = %v, want %v", code, err, want)
		}
	}
	// Unknown codes are our bug: no sentinel (a 500 in the gateway).
	err := check("x", read, api.ResponseMessage{ResponseClass: "Error", ResponseCode: "ErrorSchemaValidation"})
	for _, s := range []error{adapters.ErrNotFound, adapters.ErrInvalid, adapters.ErrUnavailable, adapters.ErrPrecondition} {
		if errors.Is(err, s) {
			t.Errorf("ErrorSchemaValidation mapped to %v", s)
		}
	}
	if err := check("x", read, api.ResponseMessage{ResponseClass: "Warning", ResponseCode: "ErrorBatchProcessingStopped"}); err != nil {
		t.Errorf("warning: %v", err)
	}
}

func TestClientServerBusyInMessage(t *testing.T) {
	// ErrorServerBusy can also come as a per-message error in a 200.
	s := &script{answers: []func(http.ResponseWriter){xmlAnswer(200, errorMessage("ErrorServerBusy")), xmlAnswer(200, okGetFolder)}}
	c := newTestClient(t, s, nil)
	if _, err := c.Call(t.Context(), "GetFolder", read, getFolder()); err != nil {
		t.Fatal(err)
	}
	if len(s.reqs) != 2 {
		t.Errorf("%d requests", len(s.reqs))
	}
}
