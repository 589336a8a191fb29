// Package bssapi speaks the Cray Boot Script Service (hms-bss 1.37, /boot/v1): its wire
// types (BootParams, Host, EndpointAccess, the dumpstate reply, the referral-token header)
// and a Go Client for a real or a simulated BSS. It holds no server; the simulator is
// package bss, which serves these types.
package bssapi
