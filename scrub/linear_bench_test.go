package scrub

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkChainedCards: 1 MiB of chained card numbers (every byte part of a card to mask)
// next to 1 MiB of clean log text, in the same run; the ratio of their throughputs must stay
// at or above 0.3 (issue 12: the work is linear, and a hostile input costs a small factor).
func BenchmarkChainedCards(b *testing.B) {
	const size = 1 << 20
	line := `{"level":"info","request_id":"gkjfdoiafocejimf","route":"passthrough","method":"GET","path":"/orders/1042","status":200,"latency_ms":3.3}` + "\n"
	inputs := []struct{ name, text string }{
		{name: "clean", text: strings.Repeat(line, size/len(line))},
		{name: "chained-cards", text: chainedCards(size)},
	}
	mbps := map[string]float64{}
	for _, in := range inputs {
		src := []byte(in.text)
		b.Run(in.name, func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				_ = Text(src)
			}
			mbps[in.name] = float64(len(src)) * float64(b.N) / b.Elapsed().Seconds() / 1e6
		})
	}
	if mbps["clean"] > 0 {
		fmt.Printf("BenchmarkChainedCards: chained cards %.0f MB/s, clean text %.0f MB/s, ratio %.2f (target >= 0.3)\n",
			mbps["chained-cards"], mbps["clean"], mbps["chained-cards"]/mbps["clean"])
	}
}
