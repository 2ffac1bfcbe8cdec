package scrub

import (
	"fmt"
	"strings"
	"testing"
)

func probeCorpus() []byte {
	var b strings.Builder
	for i := 0; b.Len() < 1<<20; i++ {
		fmt.Fprintf(&b, `{"level":"info","request_id":"%032x","route":"/checkout/submit","method":"POST","path":"/checkout/submit","status":200,"latency_ms":16.564,"remote_ip":"10.0.%d.%d","user_agent":"Mozilla/5.0 (X11; Linux x86_64)","bytes_in":102,"bytes_out":646,"time":17958805%05d,"message":"request"}`+"\n", i*7919, i%256, i%200, i%100000)
		fmt.Fprintf(&b, "2026-11-28T15:43:%02d.%03dZ INFO GET /orders/%d?page=%d 200 %dms user=ada@example.com ip=192.168.1.%d\n", i%60, i%1000, 100000+i, i%9, i%500, i%255)
	}
	return []byte(b.String())
}

func BenchmarkProbe(b *testing.B) {
	data := probeCorpus()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		_ = Default().Find(data)
	}
}

func BenchmarkProbeScanOnly(b *testing.B) {
	data := probeCorpus()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		_ = Default().scan(nil, nil, data)
	}
}

func BenchmarkProbePrefixedOnly(b *testing.B) {
	data := probeCorpus()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		_ = prefixedSecrets(data)
	}
}
