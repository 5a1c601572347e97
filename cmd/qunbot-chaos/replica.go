package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// replica is one `qunbot run` process; start and kill may be called again
// and again (a fresh process each time, like a supervisor restarting it).
type replica struct {
	name, bin, config, listen, logPath string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

func newReplica(dir, name, bin, configText, listen string) (*replica, error) {
	path := filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(path, []byte(configText), 0o644); err != nil {
		return nil, fmt.Errorf("write %s config: %w", name, err)
	}
	return &replica{name: name, bin: bin, config: path, listen: listen, logPath: filepath.Join(dir, name+".log")}, nil
}

func (r *replica) start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil {
		return nil
	}
	logf, err := os.OpenFile(r.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open %s log: %w", r.name, err)
	}
	cmd := exec.Command(r.bin, "run", "-c", r.config)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", r.name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
	r.cmd, r.done = cmd, done
	return nil
}

func (r *replica) running() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cmd != nil
}

// kill sends sig (SIGKILL for a crash, SIGTERM for a clean stop) and waits
// for the process to end.
func (r *replica) kill(sig syscall.Signal) {
	r.mu.Lock()
	cmd, done := r.cmd, r.done
	r.cmd = nil
	r.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// ready waits until the replica accepts connections on its HTTP port.
func (r *replica) ready(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", r.listen, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s did not listen on %s within %s (log: %s)", r.name, r.listen, timeout, r.logPath)
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}
