package storetest

import (
	"io"
	"net"
	"sync"
	"testing"
)

// Proxy forwards a local port to a server (ClickHouse) while it is on.
// While it is off the port refuses connections and the open ones are cut,
// as a server that is down would.
type Proxy struct {
	t      testing.TB
	addr   string
	target string

	mu    sync.Mutex
	ln    net.Listener
	conns []net.Conn
	wg    sync.WaitGroup
}

// NewProxy reserves a port that forwards to target once On is called. It
// is turned off when the test ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{t: t, addr: l.Addr().String(), target: target}
	_ = l.Close()
	t.Cleanup(func() {
		p.Off()
		p.wg.Wait()
	})
	return p
}

// Addr is the proxy's own address, to dial instead of the target.
func (p *Proxy) Addr() string { return p.addr }

// On starts accepting and forwarding connections.
func (p *Proxy) On() {
	l, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatalf("reopen %s: %v", p.addr, err)
	}
	p.mu.Lock()
	p.ln = l
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			p.forward(c)
		}
	}()
}

func (p *Proxy) forward(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		_ = c.Close()
		return
	}
	p.mu.Lock()
	if p.ln == nil { // turned off meanwhile
		p.mu.Unlock()
		_ = c.Close()
		_ = up.Close()
		return
	}
	p.conns = append(p.conns, c, up)
	p.mu.Unlock()
	p.wg.Add(2)
	go func() { defer p.wg.Done(); _, _ = io.Copy(up, c); _ = up.Close() }()
	go func() { defer p.wg.Done(); _, _ = io.Copy(c, up); _ = c.Close() }()
}

// Off refuses new connections and cuts the open ones.
func (p *Proxy) Off() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}
