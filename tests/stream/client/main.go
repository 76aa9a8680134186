// The interop client of tests/stream/interop.sh: client-go's own executors and port-forward
// dialers (as kubectl builds them) against nodelet's stream library, served by
// tests/fixtures/stream-test-server. Built from the Go module proxy by build.sh.
//
//	stream-client exec -url URL -transport spdy|websocket|fallback [-protocols P,...] [-stdin] [-tty]
//	              [-resize WxH,...] [-resize-every DUR]
//	    stdin (with -stdin), stdout and stderr are the process's own; the exit code is the remote
//	    command's (client-go's CodeExitError), 100 with "stream-client: ERR" on stderr otherwise.
//	stream-client portforward -url URL -transport spdy|websocket|fallback -remote PORT
//	              [-conns N] [-bytes N]
//	    forwards 127.0.0.1:0 to PORT, runs N concurrent connections that each send N random bytes,
//	    half-close and read the echo back; prints "portforward: N connections ok".
//	stream-client pf-refused -url URL -transport ... -remote PORT
//	    one connection to a port nobody listens on: prints the error the forwarder reported.
//	stream-client ws-raw -url URL -protocol P -send CH:TEXT... -expect-close
//	    a bare gorilla WebSocket client for the framings client-go has no client for
//	    (base64.channel.k8s.io, the kubelet's v4 port-forward channels): prints every message
//	    as "CH:<bytes as Go %q> hex=<hex>".
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	gwebsocket "github.com/gorilla/websocket"
	restclient "k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/transport/spdy"
	"k8s.io/client-go/util/exec"
	"k8s.io/streaming/pkg/httpstream"
)

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "stream-client: "+format+"\n", args...)
	os.Exit(100)
}

func config(rawURL string) (*restclient.Config, *url.URL) {
	u, err := url.Parse(rawURL)
	if err != nil {
		fail("bad url: %v", err)
	}
	return &restclient.Config{Host: u.Scheme + "://" + u.Host, Timeout: 0}, u
}

func shouldFallback(err error) bool {
	return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
}

// sizeQueue hands out the given sizes, one per period, then ends.
type sizeQueue struct {
	sizes []remotecommand.TerminalSize
	every time.Duration
	next  int
}

func (q *sizeQueue) Next() *remotecommand.TerminalSize {
	if q.next >= len(q.sizes) {
		return nil
	}
	if q.next > 0 {
		time.Sleep(q.every)
	}
	s := q.sizes[q.next]
	q.next++
	return &s
}

func parseSizes(s string) []remotecommand.TerminalSize {
	var out []remotecommand.TerminalSize
	for _, part := range strings.Split(s, ",") {
		if part == "" {
			continue
		}
		w, h, ok := strings.Cut(part, "x")
		wi, err1 := strconv.ParseUint(w, 10, 16)
		hi, err2 := strconv.ParseUint(h, 10, 16)
		if !ok || err1 != nil || err2 != nil {
			fail("bad size %q", part)
		}
		out = append(out, remotecommand.TerminalSize{Width: uint16(wi), Height: uint16(hi)})
	}
	return out
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

func cmdExec(args []string) {
	fs := flag.NewFlagSet("exec", flag.ExitOnError)
	rawURL := fs.String("url", "", "exec/attach URL")
	transport := fs.String("transport", "fallback", "spdy, websocket or fallback")
	protocols := fs.String("protocols", "", "subprotocols to offer (default: client-go's)")
	stdin := fs.Bool("stdin", false, "send our stdin")
	tty := fs.Bool("tty", false, "a terminal session")
	resize := fs.String("resize", "", "terminal sizes to send, WxH,...")
	every := fs.Duration("resize-every", 300*time.Millisecond, "pause between sizes")
	fs.Parse(args)
	cfg, u := config(*rawURL)

	var executor remotecommand.Executor
	var err error
	newSPDY := func() remotecommand.Executor {
		if *protocols == "" {
			e, err := remotecommand.NewSPDYExecutor(cfg, "POST", u)
			if err != nil {
				fail("%v", err)
			}
			return e
		}
		rt, up, err := spdy.RoundTripperFor(cfg)
		if err != nil {
			fail("%v", err)
		}
		e, err := remotecommand.NewSPDYExecutorForProtocols(rt, up, "POST", u, splitList(*protocols)...)
		if err != nil {
			fail("%v", err)
		}
		return e
	}
	newWS := func() remotecommand.Executor {
		var e remotecommand.Executor
		if *protocols == "" {
			e, err = remotecommand.NewWebSocketExecutor(cfg, "GET", u.String())
		} else {
			e, err = remotecommand.NewWebSocketExecutorForProtocols(cfg, "GET", u.String(), splitList(*protocols)...)
		}
		if err != nil {
			fail("%v", err)
		}
		return e
	}
	switch *transport {
	case "spdy":
		executor = newSPDY()
	case "websocket":
		executor = newWS()
	case "fallback": // as kubectl exec builds it
		executor, err = remotecommand.NewFallbackExecutor(newWS(), newSPDY(), shouldFallback)
		if err != nil {
			fail("%v", err)
		}
	default:
		fail("unknown transport %q", *transport)
	}

	opts := remotecommand.StreamOptions{Stdout: os.Stdout, Tty: *tty}
	if !*tty {
		opts.Stderr = os.Stderr
	}
	if *stdin {
		opts.Stdin = os.Stdin
	}
	if *resize != "" {
		opts.TerminalSizeQueue = &sizeQueue{sizes: parseSizes(*resize), every: *every}
	}
	err = executor.StreamWithContext(context.Background(), opts)
	if err != nil {
		var ce exec.CodeExitError
		if errors.As(err, &ce) {
			fmt.Fprintf(os.Stderr, "stream-client: %v\n", err)
			os.Exit(ce.Code)
		}
		fail("%v", err)
	}
}

func newDialer(transport string, u *url.URL, cfg *restclient.Config) httpstream.Dialer {
	rt, up, err := spdy.RoundTripperFor(cfg)
	if err != nil {
		fail("%v", err)
	}
	spdyDialer := spdy.NewDialerForStreaming(up, &http.Client{Transport: rt}, "POST", u)
	wsDialer := func() httpstream.Dialer {
		d, err := portforward.NewSPDYOverWebsocketDialerForStreaming(u, cfg)
		if err != nil {
			fail("%v", err)
		}
		return d
	}
	switch transport {
	case "spdy":
		return spdyDialer
	case "websocket":
		return wsDialer()
	case "fallback": // as kubectl port-forward builds it
		return portforward.NewFallbackDialerForStreaming(wsDialer(), spdyDialer, shouldFallback)
	}
	fail("unknown transport %q", transport)
	return nil
}

// startForward forwards 127.0.0.1:0 to remote; returns the local port and the forwarder's end.
func startForward(transport, rawURL string, remote int, errOut io.Writer) (int, chan struct{}, chan error) {
	cfg, u := config(rawURL)
	dialer := newDialer(transport, u, cfg)
	stop, ready := make(chan struct{}), make(chan struct{})
	fw, err := portforward.NewOnAddressesForStreaming(dialer, []string{"127.0.0.1"},
		[]string{fmt.Sprintf("0:%d", remote)}, stop, ready, io.Discard, errOut)
	if err != nil {
		fail("%v", err)
	}
	done := make(chan error, 1)
	go func() { done <- fw.ForwardPorts() }()
	select {
	case <-ready:
	case err := <-done:
		fail("port-forward: %v", err)
	case <-time.After(30 * time.Second):
		fail("port-forward: not ready after 30 s")
	}
	ports, err := fw.GetPorts()
	if err != nil || len(ports) != 1 {
		fail("port-forward: ports %v: %v", ports, err)
	}
	return int(ports[0].Local), stop, done
}

func echoOnce(port, n int) error {
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 10*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(120 * time.Second))
	want := make([]byte, n)
	rand.Read(want)
	werr := make(chan error, 1)
	go func() {
		_, err := conn.Write(want)
		if err == nil {
			err = conn.(*net.TCPConn).CloseWrite()
		}
		werr <- err
	}()
	got, err := io.ReadAll(conn)
	if err != nil {
		return fmt.Errorf("read: %v (got %d bytes)", err, len(got))
	}
	if err := <-werr; err != nil {
		return fmt.Errorf("write: %v", err)
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("echo differs: sent %d bytes, got %d", len(want), len(got))
	}
	return nil
}

func cmdPortForward(args []string) {
	fs := flag.NewFlagSet("portforward", flag.ExitOnError)
	rawURL := fs.String("url", "", "portForward URL")
	transport := fs.String("transport", "fallback", "spdy, websocket or fallback")
	remote := fs.Int("remote", 0, "remote port")
	conns := fs.Int("conns", 4, "concurrent connections")
	size := fs.Int("bytes", 65536, "bytes per connection")
	fs.Parse(args)
	local, stop, done := startForward(*transport, *rawURL, *remote, os.Stderr)

	var wg sync.WaitGroup
	errs := make(chan error, *conns)
	for i := 0; i < *conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := echoOnce(local, *size); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		failed++
		fmt.Fprintf(os.Stderr, "stream-client: connection: %v\n", err)
	}
	// a second round on the same session: streams of finished connections are gone
	if failed == 0 {
		if err := echoOnce(local, 1000); err != nil {
			failed++
			fmt.Fprintf(os.Stderr, "stream-client: connection after the first round: %v\n", err)
		}
	}
	close(stop)
	select {
	case err := <-done:
		if err != nil {
			fmt.Fprintf(os.Stderr, "stream-client: forwarder ended: %v\n", err)
		}
	case <-time.After(10 * time.Second):
		fmt.Fprintf(os.Stderr, "stream-client: forwarder did not end\n")
		failed++
	}
	if failed > 0 {
		os.Exit(1)
	}
	fmt.Printf("portforward: %d connections ok\n", *conns+1)
}

// syncBuffer collects what client-go's error handler prints.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func cmdRefused(args []string) {
	fs := flag.NewFlagSet("pf-refused", flag.ExitOnError)
	rawURL := fs.String("url", "", "portForward URL")
	transport := fs.String("transport", "fallback", "spdy, websocket or fallback")
	remote := fs.Int("remote", 0, "remote port nobody listens on")
	fs.Parse(args)
	local, stop, done := startForward(*transport, *rawURL, *remote, os.Stderr)
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", local), 10*time.Second)
	if err != nil {
		fail("dial: %v", err)
	}
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	got, err := io.ReadAll(conn)
	conn.Close()
	fmt.Printf("pf-refused: read %d bytes (%v)\n", len(got), err)
	// client-go closes the whole connection after an error on the error stream
	select {
	case err := <-done:
		fmt.Printf("pf-refused: forwarder ended: %v\n", err)
	case <-time.After(15 * time.Second):
		close(stop)
		fmt.Printf("pf-refused: forwarder still running\n")
	}
}

func cmdWSRaw(args []string) {
	fs := flag.NewFlagSet("ws-raw", flag.ExitOnError)
	rawURL := fs.String("url", "", "URL")
	protocol := fs.String("protocol", "", "subprotocol")
	var sends []string
	fs.Func("send", "CH:TEXT, sent after the first message (base64-encoded for base64 protocols)", func(s string) error {
		sends = append(sends, s)
		return nil
	})
	closeAfter := fs.Int("messages", 0, "close after this many messages (0: read until the server closes)")
	fs.Parse(args)
	u, err := url.Parse(*rawURL)
	if err != nil {
		fail("%v", err)
	}
	u.Scheme = strings.Replace(u.Scheme, "http", "ws", 1)
	d := gwebsocket.Dialer{Subprotocols: []string{*protocol}, HandshakeTimeout: 10 * time.Second}
	conn, resp, err := d.Dial(u.String(), nil)
	if err != nil {
		status := ""
		if resp != nil {
			status = resp.Status
		}
		fail("dial: %v %s", err, status)
	}
	defer conn.Close()
	fmt.Printf("protocol %q\n", conn.Subprotocol())
	b64 := strings.Contains(*protocol, "base64")
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	for i := 0; ; i++ {
		mt, data, err := conn.ReadMessage()
		if err != nil {
			var ce *gwebsocket.CloseError
			if errors.As(err, &ce) {
				fmt.Printf("close %d\n", ce.Code)
			} else {
				fmt.Printf("error %v\n", err)
			}
			return
		}
		if len(data) == 0 {
			fmt.Printf("empty message\n")
		} else if b64 {
			dec, err := base64.StdEncoding.DecodeString(string(data[1:]))
			if err != nil || mt != gwebsocket.TextMessage {
				fmt.Printf("bad base64 message type %d %q\n", mt, data)
			} else {
				fmt.Printf("%c:%q\n", data[0], dec)
			}
		} else {
			fmt.Printf("%d:%q hex=%x\n", data[0], data[1:], data[1:])
		}
		if i == 0 {
			for _, s := range sends {
				ch, text, _ := strings.Cut(s, ":")
				text = strings.ReplaceAll(text, `\n`, "\n")
				var msg []byte
				mt := gwebsocket.BinaryMessage
				if b64 {
					msg = []byte(ch + base64.StdEncoding.EncodeToString([]byte(text)))
					mt = gwebsocket.TextMessage
				} else if ch == "close" { // v5: the close signal for channel text
					n, _ := strconv.Atoi(text)
					msg = []byte{255, byte(n)}
				} else {
					n, _ := strconv.Atoi(ch)
					msg = append([]byte{byte(n)}, text...)
				}
				if err := conn.WriteMessage(mt, msg); err != nil {
					fail("write: %v", err)
				}
			}
		}
		if *closeAfter > 0 && i+1 >= *closeAfter {
			conn.WriteControl(gwebsocket.CloseMessage,
				gwebsocket.FormatCloseMessage(gwebsocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
			return
		}
	}
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: stream-client exec|portforward|pf-refused|ws-raw ...")
	}
	switch os.Args[1] {
	case "exec":
		cmdExec(os.Args[2:])
	case "portforward":
		cmdPortForward(os.Args[2:])
	case "pf-refused":
		cmdRefused(os.Args[2:])
	case "ws-raw":
		cmdWSRaw(os.Args[2:])
	default:
		fail("unknown command %q", os.Args[1])
	}
}
