package soak

import "syscall"

// procAttr: a child dies with the test process (a timed-out or killed go
// test leaves no crmbot running).
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
