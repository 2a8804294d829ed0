package sync_test

import (
	"fmt"
	"log"
	"time"

	"go.uber.org/zap"

	"github.com/peerdns/peerdns/resolver"
	"github.com/peerdns/peerdns/sync"
)

func ExampleLoadStatic() {
	clusters, err := sync.LoadStatic("../deploy/examples/peers.yaml")
	if err != nil {
		log.Fatal(err) // every error, each as "path:line: ..."
	}
	for _, c := range clusters {
		fmt.Printf("%s %v port=%d services=%d\n", c.Name, c.Gateway.Addresses, c.Gateway.Port, len(c.Services))
	}
	// Output:
	// east [203.0.113.7 2001:db8::7] port=15443 services=8
	// west [198.51.100.20] port=15443 services=7
	// vm-billing [203.0.113.50] port=0 services=1
}

// printReporter stands for the plugin's Prometheus reporter.
type printReporter struct{}

func (printReporter) Published(gen uint64, took time.Duration, clusters []resolver.Cluster) {
	fmt.Println("generation", gen, "clusters", len(clusters))
}

func (printReporter) SourceError(source string, err error) { fmt.Println(source, err) }

func (printReporter) Propagated(time.Duration) {}

// The wiring of a server: the static source reports failed reloads through the same Reporter as
// the Syncer; Start and Stop belong in the server's startup and shutdown hooks.
func ExampleNew() {
	logger := zap.NewExample()
	rep := printReporter{}
	static, err := sync.NewStatic(sync.StaticOptions{
		Path:    "../deploy/examples/peers.yaml",
		Log:     logger,
		OnError: sync.ReportErrors(rep, "static"),
	})
	if err != nil {
		log.Fatal(err) // a bad file fails the setup, with its line
	}
	res := resolver.New(resolver.Config{})
	s := sync.New(sync.Options{
		Publisher: res,
		Sources:   []sync.Source{static},
		Log:       logger,
		Reporter:  rep,
	})
	s.Start()
	defer s.Stop()
	for !s.Ready() { // a server answers SERVFAIL meanwhile
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Println("serving generation", res.Snapshot().Generation())
}
