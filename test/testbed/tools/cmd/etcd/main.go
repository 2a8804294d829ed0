// Command etcd is etcd's own server, built at the version the pinned
// Kubernetes release uses, for the test bed's clusters.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
