package htmltok_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/tokenwall/tokenwall/proxy/pages/htmltok"
)

// tricky is HTML that takes x/net's tokenizer through each of its states, and out of
// each at the end of the input.
var tricky = []struct {
	name string
	in   string
}{
	{name: "empty", in: ""},
	{name: "text", in: "plain text"},
	{name: "lone lt", in: "a < b <= c <3 <"},
	{name: "lt at end", in: "x<"},
	{name: "entities in text", in: "a&amp;b &lt;&gt; &notit; &notin; &#x41;&#65;&#0;&#x110000; &#128; &amp &ampx &;"},
	{name: "simple tags", in: "<section><h2 class=title>Pay</h2><p>Total <b>€5</b></p><a href=\"/help?a=1&b=2\">Help</a></section>"},
	{name: "doctype", in: "<!DOCTYPE html><html><head></head><body></body></html>"},
	{name: "doctype lower", in: "<!doctype html public \"x\">text"},
	{name: "doctype eof", in: "<!DOCTYPE"},
	{name: "doctype eof space", in: "<!DOCTYPE   "},
	{name: "doctype partial", in: "<!DOCTYP"},
	{name: "doctype mismatch", in: "<!DOCTYPO html>"},
	{name: "comment", in: "a<!-- c -->b<!---->c<!--->d<!-->e"},
	{name: "comment bang", in: "<!-- x --!>y<!-- x --!-->z<!-- --! -->"},
	{name: "comment dashes", in: "<!-- a - b -- c --- d ---->e"},
	{name: "comment eof", in: "<!-- never closed -"},
	{name: "comment eof dashes", in: "<!-- x --"},
	{name: "comment eof bang", in: "<!-- x --!"},
	{name: "comment nul", in: "<!-- \x00 -->"},
	{name: "markup eof", in: "<!"},
	{name: "markup eof one", in: "<!-"},
	{name: "markup eof gt", in: "<!>"},
	{name: "bogus comment", in: "<!x y><?xml version=\"1.0\"?></ b></>after</3"},
	{name: "bogus comment eof", in: "<?php echo 1"},
	{name: "end tag eof", in: "</"},
	{name: "end tag name eof", in: "</div"},
	{name: "end tag attrs", in: "</div class=x id=\"y\">"},
	{name: "cdata", in: "<svg><![CDATA[x<y]]]>z]]></svg><![CDATA[a"},
	{name: "cdata partial", in: "<![CDAT"},
	{name: "cdata brackets", in: "<![CDATA[]]]]>]>]]>"},
	{name: "textarea", in: "<textarea>a<b>&amp;</textarea>c"},
	{name: "title case", in: "<TITLE>x</title >y</TiTlE/>z"},
	{name: "title fake end", in: "<title>a</titl</title</titlex></title>"},
	{name: "rcdata eof", in: "<textarea>never closed</textar"},
	{name: "style", in: "<style>p > a { color: red } </p></style>after"},
	{name: "xmp", in: "<xmp><b>bold</b></xmp>"},
	{name: "iframe", in: "<iframe><script>x</script></iframe>"},
	{name: "noembed noframes", in: "<noembed><p></noembed><noframes><p></NOFRAMES>"},
	{name: "noscript", in: "<noscript><script>x</script></noscript>"},
	{name: "plaintext", in: "<plaintext></plaintext><b>everything is text"},
	{name: "plaintext empty", in: "<plaintext>"},
	{name: "script", in: "<script>if (a < b && c > d) {}</script>"},
	{name: "script end variants", in: "<script>a</script >b<script>c</SCRIPT/>d<script>e</scriptx></script\t>"},
	{name: "script scr", in: "<script>x = '</scr' + 'ipt>';</scr</script>"},
	{name: "script escaped", in: "<script><!--<script>document.write('</script>')</script>--></script>after"},
	{name: "script escaped end", in: "<script><!-- a </script> b -->"},
	{name: "script double escaped", in: "<script><!--<script>x<!--y-->z</script>w--></script>"},
	{name: "script double escaped dashes", in: "<script><!--<SCRIPT >--<-<</script>->--></script>"},
	{name: "script escape start", in: "<script><!-x<!--->y<!</script>"},
	{name: "script escaped lt", in: "<script><!--<a<//<-</scrip</script>"},
	{name: "script eof", in: "<script>var s = '"},
	{name: "script eof escaped", in: "<script><!--<script>"},
	{name: "script eof lt", in: "<script><"},
	{name: "script self-closing", in: "<script src=/x.js /><p>"},
	{name: "script attrs", in: "<script nonce=abc integrity='sha384-x' src=\"https://js.stripe.com/v3/\" async></script>"},
	{name: "unquoted attrs", in: "<a href=/x?y=1&z=2 title=a>b c=d>"},
	{name: "quoted attrs", in: "<a x='1\"2' y=\"3'4\" z=\"5\n6\r\n7\r8\">"},
	{name: "attr spaces", in: "<a  x = 1  y\t=\n\"2\"  z  >"},
	{name: "attr no value", in: "<input disabled required x=>"},
	{name: "attr value gt", in: "<a x=>y>"},
	{name: "duplicate attrs", in: "<a id=1 ID=2 Id=3 href=x HREF=y>"},
	{name: "duplicate after many", in: "<a a=1 b=2 c=3 d=4 e=5 f=6 g=7 h=8 i=9 j=10 k=11 l=12 m=13 n=14 o=15 p=16 q=17 r=18 A=19 Q=20 s=21 R=22 t=23>"},
	{name: "attr names odd", in: "<a <b=1 \"c=2 'd=3 =e=4 f==5 g<=6 ==7 =>"},
	{name: "attr eq first", in: "<a =x>"},
	{name: "attr slash", in: "<a x/ y / z=/ w=//>"},
	{name: "self-closing", in: "<br/><img src=x /><p a=/>q</p><div/ ><x y=\"z\"/>"},
	{name: "self-closing unquoted", in: "<p a=b/>"},
	{name: "tag name odd", in: "<a\x00b><A-B.C:D><x\ny>"},
	{name: "nul", in: "a\x00b<p x=\"\x00\">\x00<script>\x00</script><textarea>\x00</textarea><!--\x00-->"},
	{name: "invalid utf8", in: "\xff\xfe<p \xc3=\xa9>\xe2\x82</p><script>\xed\xa0\x80</script>"},
	{name: "crlf", in: "a\r\nb\rc<p x=\"1\r\n2\">d\r\n</p><textarea>\r\n\r</textarea>"},
	{name: "entity attr", in: "<a x=\"&amp;&lt\" y='&notit;&notin&not=' z=&copy=1 w=\"&#x3c;&#60;\" v=\"&fjlig;&NotEqualTilde;\">"},
	{name: "entity text rcdata", in: "<title>&amp;&lt;&notit</title><textarea>&copy&copy=</textarea>"},
	{name: "tag eof", in: "<div class=\"x"},
	{name: "tag eof unquoted", in: "<div class=x"},
	{name: "tag eof eq", in: "<div class="},
	{name: "tag eof key", in: "<div cla"},
	{name: "tag eof space", in: "<div "},
	{name: "tag eof slash", in: "<div /"},
	{name: "tag eof name", in: "<div"},
	{name: "raw then eof", in: "<script>"},
	{name: "raw empty", in: "<script></script><style></style><title></title>"},
	{name: "attrs at the map threshold", in: attrsTag(16) + attrsTag(17) + attrsTag(18)},
	{name: "many attrs", in: attrsTag(200) + "<p " + attrsTag(40)[1:]},
	{name: "checkout", in: checkoutPage()[:4096]},
}

// attrsTag is a start tag with n distinct attribute names, each third one repeated with
// its case changed, and one repeat of the first.
func attrsTag(n int) string {
	var b strings.Builder
	b.WriteString("<div")
	for i := range n {
		fmt.Fprintf(&b, " name%d=%d", i, i)
		if i%3 == 2 {
			fmt.Fprintf(&b, " NaMe%d='again'", i)
		}
	}
	b.WriteString(" NAME0=x>")
	return b.String()
}

// TestSameAsXNet runs both tokenizers over each tricky input with every reader, a range of
// buffer limits, each fragment context and option, and fails on any difference.
func TestSameAsXNet(t *testing.T) {
	runs := 0
	for _, tc := range tricky {
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(tc.in)
			for kind := range readerKinds {
				for _, maxBuf := range []int{0, 1, 2, 3, 5, 8, 13, 64, len(in), len(in) + 1} {
					for flags := range uint16(8) {
						o := optionsFrom(uint64(maxBuf), maxBuf, uint16(kind)|flags<<8)
						runs++
						if diff := same(in, o); diff != "" {
							t.Fatalf("%s\n%s", o, diff)
						}
					}
				}
			}
			for c := range contexts {
				for flags := range uint16(4) {
					o := optionsFrom(1, 0, uint16(c)<<2|flags<<6)
					runs++
					if diff := same(in, o); diff != "" {
						t.Fatalf("%s\n%s", o, diff)
					}
				}
			}
		})
	}
	t.Logf("%d inputs, %d runs", len(tricky), runs)
}

// fragments are what TestSameAsXNetRandom makes inputs of.
var fragments = []string{
	"<", ">", "/", "/>", "</", "<!", "<?", "!", "-", "--", "-->", "--!>", "<!--", "=", "'", "\"", " ", "\t", "\n", "\r\n", "\r",
	"\x00", "\xff", "é", "a", "B", "x1", "&", "&amp;", "&amp", "&notin", "&#x", "&#65", ";",
	"]]>", "<![CDATA[", "]", "<!DOCTYPE", "doctype", "<p", "<P", "</p>", "<a href=", "<b x=1 y='2' z=\"3\">",
	"<script", "<script>", "</script", "</script>", "<SCRIPT>", "script", "<!--<script>", "</scr",
	"<textarea>", "</textarea>", "<title>", "</title>", "<style>", "</style>", "<xmp>", "<iframe>",
	"<noembed>", "<noframes>", "<noscript>", "<plaintext>", "</plaintext>", "<svg>",
}

// TestSameAsXNetRandom tries many inputs made of fragments, each in a random way.
func TestSameAsXNetRandom(t *testing.T) {
	n := 20000
	if testing.Short() {
		n = 2000
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	for i := range n {
		b.Reset()
		for range 1 + rng.IntN(24) {
			b.WriteString(fragments[rng.IntN(len(fragments))])
		}
		maxBuf := 0
		if rng.IntN(3) == 0 {
			maxBuf = 1 + rng.IntN(b.Len()+2)
		}
		o := optionsFrom(uint64(i), maxBuf, uint16(rng.Uint32()))
		if diff := same([]byte(b.String()), o); diff != "" {
			t.Fatalf("input %q\n%s\n%s", b.String(), o, diff)
		}
	}
}

// TestSameAsXNetEntities puts every character reference of x/net's tables, and the names
// next to them, in text, RCDATA and attribute values.
func TestSameAsXNetEntities(t *testing.T) {
	names := entityNames(t)
	var b strings.Builder
	for _, name := range names {
		for _, ref := range []string{"&" + name, "&" + name + "x", "&" + name + "=", "&" + name[:len(name)-1]} {
			b.Reset()
			b.WriteString(ref + " <title>" + ref + "</title><a x=\"" + ref + "\" y='" + ref + "=' z=" + ref + ">" + ref)
			if diff := same([]byte(b.String()), options{}); diff != "" {
				t.Fatalf("%q: %s", b.String(), diff)
			}
		}
	}
}

// TestBufferExceeded checks the error is x/net's, so errors.Is in the rewriter holds.
func TestBufferExceeded(t *testing.T) {
	z := htmltok.NewTokenizer(strings.NewReader("<p>" + strings.Repeat("x", 100) + "</p>"))
	z.SetMaxBuf(16)
	for z.Next() != htmltok.ErrorToken {
	}
	if !errors.Is(z.Err(), html.ErrBufferExceeded) {
		t.Errorf("Err() = %v, want html.ErrBufferExceeded", z.Err())
	}
}
