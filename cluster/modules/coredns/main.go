// Command coredns is CoreDNS with only the plugins the local cluster's Corefile uses.
//
// The upstream main package compiles in every plugin, cloud ones included (route53, azure,
// clouddns): a long build on two cores and cloud SDKs we promise not to carry. CoreDNS documents
// this way of choosing plugins at compile time: import them and set dnsserver.Directives (the
// order of execution, a subset of upstream's plugin.cfg in its order).
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"
)

var directives = []string{
	"bind",
	"ready",
	"health",
	"errors",
	"log",
	"cache",
	"kubernetes",
}

func init() {
	dnsserver.Directives = directives
}

func main() {
	coremain.Run()
}
