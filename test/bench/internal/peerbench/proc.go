package peerbench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Memory is a process's resident memory in bytes: now (VmRSS) and its high-water mark (VmHWM).
type Memory struct {
	RSS int64 `json:"rss_bytes"`
	HWM int64 `json:"hwm_bytes"`
}

// ReadMemory reads VmRSS and VmHWM of pid from /proc.
func ReadMemory(pid int) (Memory, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{}, err
	}
	var m Memory
	for line := range strings.Lines(string(data)) {
		key, value, _ := strings.Cut(line, ":")
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		switch {
		case err != nil:
		case key == "VmRSS":
			m.RSS = kb << 10
		case key == "VmHWM":
			m.HWM = kb << 10
		}
	}
	if m.RSS == 0 {
		return m, fmt.Errorf("/proc/%d/status: no VmRSS", pid)
	}
	return m, nil
}

// MiB formats bytes as mebibytes with one decimal.
func MiB(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// MB formats bytes as megabytes (10^6) with one decimal, the unit of CoreDNS's sizing rule.
func MB(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/1e6) }
