// bench/run contender: gocql from Debian (golang-github-gocql-gocql-dev),
// protocol v4, token-aware, one goroutine per request in flight.
//
// Built offline in GOPATH mode (bench/run does this):
//
//	GOPATH=<tmp>:/usr/share/gocode GO111MODULE=off go build -o gocql_bench bench/peers/gocql/main.go
//
// --coalesce-us sets ClusterConfig.WriteCoalesceWaitTime (gocql's default is
// 200 µs: a writer waits that long for more frames before a write syscall).
// --rate R runs open loop: request i is due at start + i/R, at most N in flight
// (N goroutines), latency counted from the due time (coordinated omission
// corrected); the service time from the send is kept apart.
// Same CLI and one-line JSON output as every contender: see bench/README.md.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/bits"
	"math/rand"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gocql/gocql"
)

// Log-linear latency histogram (nanoseconds), 1/128 relative precision.
type histogram struct {
	counts []uint64
	total  uint64
	max    uint64
}

func newHistogram() *histogram { return &histogram{counts: make([]uint64, 256+64*128)} }

func hindex(v uint64) int {
	if v < 256 {
		return int(v)
	}
	shift := bits.Len64(v) - 8
	return 256 + (shift-1)*128 + int(v>>uint(shift)) - 128
}

func hmiddle(i int) float64 {
	if i < 256 {
		return float64(i)
	}
	shift := (i-256)/128 + 1
	low := float64((i-256)%128+128) * float64(uint64(1)<<uint(shift))
	return low + float64(uint64(1)<<uint(shift))/2
}

func (h *histogram) record(v uint64) {
	h.counts[hindex(v)]++
	h.total++
	if v > h.max {
		h.max = v
	}
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
	if o.max > h.max {
		h.max = o.max
	}
}

func (h *histogram) quantile(q float64) float64 {
	if h.total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.total)))
	if rank == 0 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return math.Min(float64(h.max), hmiddle(i))
		}
	}
	return float64(h.max)
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

func threadCount() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "Threads:") {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "Threads:")))
			return n
		}
	}
	return 0
}

// The calling OS thread's run-queue wait in ns (runnable, waiting for a CPU):
// field 2 of /proc/thread-self/schedstat, one pread on a kept-open fd. The
// goroutine using it must be locked to its thread (runtime.LockOSThread).
type runQueueClock struct {
	fd  int
	buf [128]byte
}

func openRunQueueClock() *runQueueClock {
	fd, err := syscall.Open("/proc/thread-self/schedstat", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	return &runQueueClock{fd: fd}
}

func (c *runQueueClock) waitNs() int64 {
	n, err := syscall.Pread(c.fd, c.buf[:], 0)
	if err != nil || n <= 0 {
		return 0
	}
	f := strings.Fields(string(c.buf[:n]))
	if len(f) < 2 {
		return 0
	}
	v, _ := strconv.ParseInt(f[1], 10, 64)
	return v
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

func main() {
	hosts := flag.String("hosts", "", "H:P[,H:P..]")
	keyspace := flag.String("keyspace", "bench", "keyspace")
	workload := flag.String("workload", "", "read|write|mix|scan|stall")
	concurrency := flag.Int("concurrency", 1, "requests in flight")
	seconds := flag.Float64("seconds", 5, "measured seconds")
	warmup := flag.Float64("warmup", 0.5, "warm-up seconds")
	rows := flag.Int("rows", 100000, "rows in the table")
	pageSize := flag.Int("page-size", 5000, "scan page size")
	coalesceUs := flag.Int("coalesce-us", 200, "WriteCoalesceWaitTime in microseconds")
	rate := flag.Float64("rate", 0, "fixed rate, requests/s (read/write/mix); 0: closed loop")
	// Not used by bench/run: exactly this many requests, no time window, all
	// measured (bench/instr/peers_instr.py: instructions per request from two
	// such runs under callgrind).
	fixedOps := flag.Int64("ops", 0, "issue exactly N requests and stop (closed loop read/write/mix)")
	flag.Parse()
	if *fixedOps > 0 && (*rate > 0 || (*workload != "read" && *workload != "write" && *workload != "mix")) {
		fmt.Fprintln(os.Stderr, "gocql: --ops is for closed loop read/write/mix")
		os.Exit(2)
	}
	if *workload == "scan" || *workload == "stall" || *rate < 0 {
		*rate = 0
	}
	switch *workload {
	case "read", "write", "mix", "scan", "stall":
	default:
		fmt.Fprintln(os.Stderr, "gocql: --workload read|write|mix|scan|stall")
		os.Exit(2)
	}
	if *concurrency < 1 {
		*concurrency = 1
	}
	var addrs []string
	port := 9042
	for _, h := range strings.Split(*hosts, ",") {
		i := strings.LastIndex(h, ":")
		addrs = append(addrs, h[:i])
		port, _ = strconv.Atoi(h[i+1:])
	}
	cluster := gocql.NewCluster(addrs...)
	cluster.Port = port
	cluster.ProtoVersion = 4
	cluster.Keyspace = *keyspace
	cluster.Consistency = gocql.One
	cluster.Timeout = 60 * time.Second
	cluster.WriteCoalesceWaitTime = time.Duration(*coalesceUs) * time.Microsecond
	cluster.PoolConfig.HostSelectionPolicy = gocql.TokenAwareHostPolicy(gocql.RoundRobinHostPolicy())
	session, err := cluster.CreateSession()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gocql: connect:", err)
		os.Exit(1)
	}
	readQ := "SELECT v FROM kv WHERE k = ?"
	writeQ := "INSERT INTO kv (k, v) VALUES (?, ?)"
	scanQ := "SELECT k, v FROM kv"
	blob := make([]byte, 100)
	for i := range blob {
		blob[i] = 0xab
	}
	nrows := *rows
	if nrows < 1 {
		nrows = 1
	}

	// One read, write or mix request (10% writes) on a random key, read into
	// *v; sent is the time it went out, after the choice.
	request := func(rnd *rand.Rand, v *[]byte) (sent time.Time, err error) {
		k := rnd.Intn(nrows)
		write := *workload == "write" || (*workload == "mix" && rnd.Intn(100) < 10)
		sent = time.Now()
		if write {
			err = session.Query(writeQ, k, blob).Exec()
		} else {
			err = session.Query(readQ, k).Scan(v)
		}
		return sent, err
	}

	// The N request goroutines, each with its own rand (seeds 1..N), counted in wg.
	startWorkers := func(wg *sync.WaitGroup, work func(rnd *rand.Rand)) {
		for i := 0; i < *concurrency; i++ {
			wg.Add(1)
			go func(seed int64) {
				defer wg.Done()
				work(rand.New(rand.NewSource(seed)))
			}(int64(i + 1))
		}
	}

	var measuring atomic.Bool
	var stop atomic.Bool
	var mu sync.Mutex
	total := newHistogram()
	var ops, errs, scanned uint64
	var t0, t1 time.Time
	var cpu0, cpu1 float64
	threads := 0
	startMeasure := func() {
		cpu0 = cpuSeconds()
		t0 = time.Now()
		measuring.Store(true)
	}
	stopMeasure := func() {
		measuring.Store(false)
		t1 = time.Now()
		cpu1 = cpuSeconds()
		threads = threadCount()
	}
	// Each goroutine keeps its own histogram, merged at the end.
	flushLocal := func(h *histogram, o, e, r uint64) {
		mu.Lock()
		total.merge(h)
		ops += o
		errs += e
		scanned += r
		mu.Unlock()
	}

	// One full pass over the table, page by page; returns false on error.
	scanPass := func(h *histogram, o, e, r *uint64, countOps bool) bool {
		var state []byte
		for {
			t := time.Now()
			iter := session.Query(scanQ).PageSize(*pageSize).PageState(state).Iter()
			var k int
			var v []byte
			n := uint64(0)
			for iter.Scan(&k, &v) {
				n++
			}
			state = iter.PageState()
			if err := iter.Close(); err != nil {
				if measuring.Load() {
					*e++
				}
				return false
			}
			if measuring.Load() {
				*r += n
				if countOps {
					*o++
					h.record(uint64(time.Since(t).Nanoseconds()))
				}
			}
			if len(state) == 0 || stop.Load() {
				return true
			}
		}
	}

	inFlight := *concurrency
	extra := map[string]interface{}{"rate": 0}
	if *rate > 0 {
		// Fixed rate: each of the N goroutines takes the next slot of the
		// schedule when free and sleeps until its due time; a slot taken late
		// (all N busy) goes out at once, its latency still counted from the due time.
		var nextSlot atomic.Int64
		var issued, late uint64
		service := newHistogram()
		start := time.Now()
		from := start.Add(time.Duration(*warmup * float64(time.Second)))
		end := from.Add(time.Duration(*seconds * float64(time.Second)))
		var wg sync.WaitGroup
		startWorkers(&wg, func(rnd *rand.Rand) {
			h, sh := newHistogram(), newHistogram()
			var o, e, is, lt uint64
			var v []byte
			for {
				due := start.Add(time.Duration(float64(nextSlot.Add(1)-1) * 1e9 / *rate))
				if !due.Before(end) || !time.Now().Before(end) {
					break // later slots, or a backlog at the end: unissued
				}
				if d := time.Until(due); d > 0 {
					time.Sleep(d)
				}
				t, err := request(rnd, &v)
				done := time.Now()
				is++
				// Measured: answered within the window, whenever due (a backlog
				// from the warm-up counts, with its whole wait).
				if done.Before(from) || done.After(end) {
					continue
				}
				if t.Sub(due) > time.Millisecond {
					lt++
				}
				if err != nil {
					e++
					continue
				}
				o++
				h.record(uint64(done.Sub(due).Nanoseconds()))
				sh.record(uint64(done.Sub(t).Nanoseconds()))
			}
			mu.Lock()
			service.merge(sh)
			issued += is
			late += lt
			mu.Unlock()
			flushLocal(h, o, e, 0)
		})
		time.Sleep(time.Until(from))
		startMeasure()
		time.Sleep(time.Until(end))
		stopMeasure()
		wg.Wait()
		// Rates over the nominal window: the measured requests' due times span exactly it.
		t1 = t0.Add(end.Sub(from))
		secs := t1.Sub(t0).Seconds()
		dueSlots := math.Ceil(*rate * (*warmup + *seconds)) // due before the end; never sent: the backlog left
		extra["rate"] = *rate
		extra["achieved_rate"] = round(float64(ops)/secs, 1)
		extra["late_starts"] = late
		extra["unissued"] = math.Max(0, dueSlots-float64(issued))
		extra["service_p50_us"] = round(service.quantile(0.5)/1000, 1)
		extra["service_p99_us"] = round(service.quantile(0.99)/1000, 1)
		extra["service_p999_us"] = round(service.quantile(0.999)/1000, 1)
	} else if *fixedOps > 0 {
		var claimed atomic.Int64
		var wg sync.WaitGroup
		startMeasure()
		startWorkers(&wg, func(rnd *rand.Rand) {
			h := newHistogram()
			var o, e uint64
			var v []byte
			for claimed.Add(1) <= *fixedOps {
				t, err := request(rnd, &v)
				if err != nil {
					e++
				} else {
					o++
					h.record(uint64(time.Since(t).Nanoseconds()))
				}
			}
			flushLocal(h, o, e, 0)
		})
		wg.Wait()
		stopMeasure()
	} else if *workload == "scan" {
		inFlight = 1
		h := newHistogram()
		var o, e, r uint64
		startMeasure()
		deadline := t0.Add(time.Duration(*seconds * float64(time.Second)))
		for {
			if !scanPass(h, &o, &e, &r, true) || time.Now().After(deadline) {
				break
			}
		}
		stopMeasure()
		flushLocal(h, o, e, r)
	} else {
		var wg sync.WaitGroup
		startWorkers(&wg, func(rnd *rand.Rand) {
			h := newHistogram()
			var o, e uint64
			var v []byte
			for !stop.Load() {
				t, err := request(rnd, &v)
				if measuring.Load() {
					if err != nil {
						e++
					} else {
						o++
						h.record(uint64(time.Since(t).Nanoseconds()))
					}
				}
			}
			flushLocal(h, o, e, 0)
		})
		ticks := newHistogram()     // lateness in microseconds
		loopTicks := newHistogram() // lateness minus the run-queue wait over the tick
		var over2, loopOver2 uint64
		runQueueKnown := false
		var tickMu sync.Mutex
		if *workload == "stall" {
			wg.Add(2)
			go func() {
				defer wg.Done()
				// Locked to one OS thread so that thread's run-queue wait is the ticker's.
				runtime.LockOSThread()
				rq := openRunQueueClock()
				tickMu.Lock()
				runQueueKnown = rq != nil
				tickMu.Unlock()
				for !stop.Load() {
					var w0 int64
					if rq != nil {
						w0 = rq.waitNs()
					}
					t := time.Now()
					time.Sleep(time.Millisecond)
					late := time.Since(t) - time.Millisecond
					if late < 0 {
						late = 0
					}
					loopLate := late
					if rq != nil {
						loopLate -= time.Duration(rq.waitNs() - w0)
						if loopLate < 0 {
							loopLate = 0
						}
					}
					if measuring.Load() {
						tickMu.Lock()
						ticks.record(uint64(late.Microseconds()))
						loopTicks.record(uint64(loopLate.Microseconds()))
						if late > 2*time.Millisecond {
							over2++
						}
						if loopLate > 2*time.Millisecond {
							loopOver2++
						}
						tickMu.Unlock()
					}
				}
			}()
			go func() {
				defer wg.Done()
				h := newHistogram()
				var o, e, r uint64
				for !stop.Load() {
					scanPass(h, &o, &e, &r, false)
				}
				flushLocal(newHistogram(), 0, e, r)
			}()
		}
		time.Sleep(time.Duration(*warmup * float64(time.Second)))
		startMeasure()
		time.Sleep(time.Duration(*seconds * float64(time.Second)))
		stopMeasure()
		stop.Store(true)
		wg.Wait()
		if *workload == "stall" {
			secs := t1.Sub(t0).Seconds()
			extra["rows"] = scanned
			extra["rows_per_s"] = round(float64(scanned)/secs, 1)
			extra["ticker_max_delay_ms"] = round(float64(ticks.max)/1000, 3)
			extra["ticker_p99_delay_ms"] = round(ticks.quantile(0.99)/1000, 3)
			extra["ticks"] = ticks.total
			extra["ticks_over_2ms"] = over2
			extra["ticker_loop_max_ms"], extra["ticker_loop_p99_ms"], extra["loop_ticks_over_2ms"] = nil, nil, nil
			if runQueueKnown {
				extra["ticker_loop_max_ms"] = round(float64(loopTicks.max)/1000, 3)
				extra["ticker_loop_p99_ms"] = round(loopTicks.quantile(0.99)/1000, 3)
				extra["loop_ticks_over_2ms"] = loopOver2
			}
		}
	}
	session.Close()
	secs := t1.Sub(t0).Seconds()
	cpu := cpu1 - cpu0
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	out := map[string]interface{}{
		"contender": "gocql", "mode": fmt.Sprintf("coalesce%dus", *coalesceUs), "workload": *workload,
		"concurrency": inFlight, "ops": ops, "errors": errs, "seconds": round(secs, 3),
		"ops_per_s": round(float64(ops)/secs, 1),
		"p50_us":    round(total.quantile(0.5)/1000, 1), "p99_us": round(total.quantile(0.99)/1000, 1),
		"p999_us": round(total.quantile(0.999)/1000, 1), "max_us": round(float64(total.max)/1000, 1),
		"cpu_s": round(cpu, 3), "ops_per_cpu_s": 0.0, "peak_rss_kib": ru.Maxrss, "threads": threads,
	}
	if cpu > 0 {
		out["ops_per_cpu_s"] = round(float64(ops)/cpu, 1)
	}
	if *workload == "scan" {
		out["rows"] = scanned
		out["rows_per_s"] = round(float64(scanned)/secs, 1)
	}
	for k, v := range extra {
		out[k] = v
	}
	b, _ := json.Marshal(out)
	fmt.Println(string(b))
}
