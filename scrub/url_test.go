package scrub

import (
	"net/url"
	"reflect"
	"testing"
)

func TestURL(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		unparseable    bool // a masked scheme or host is no longer one
	}{
		{name: "clean URL byte for byte", in: "https://shop.example:8443/checkout/done%21?order=12&x=a+b#top", want: "https://shop.example:8443/checkout/done%21?order=12&x=a+b#top"},
		{name: "card in a path segment", in: "https://api.example/v1/cards/4242424242424242/charge", want: "https://api.example/v1/cards/%5Bcard%3Avisa%3A4242%5D/charge"},
		{name: "encoded card in a path segment", in: "/cards/4242%204242%204242%204242", want: "/cards/%5Bcard%3Avisa%3A4242%5D"},
		{name: "query by key", in: "https://h/p?card_number=4242424242424242&cvc=123&ok=1",
			want: "https://h/p?card_number=%5Bcard%3Avisa%3A4242%5D&cvc=%5Bredacted%3Acvc%5D&ok=1"},
		{name: "card in a query value", in: "/search?q=4242+4242+4242+4242&page=2", want: "/search?q=%5Bcard%3Avisa%3A4242%5D&page=2"},
		{name: "userinfo password", in: "https://ada:hunter2@h/p", want: "https://ada:%5Bredacted%3Apassword%5D@h/p"},
		{name: "userinfo without password", in: "https://ada@h/", want: "https://ada@h/"},
		{name: "userinfo empty password", in: "https://ada:@h/", want: "https://ada:@h/"},
		{name: "card as user name", in: "https://4242424242424242@h/", want: "https://%5Bcard%3Avisa%3A4242%5D@h/"},
		{name: "fragment as text", in: "https://h/cb#access_token=abc123&token_type=bearer", want: "https://h/cb#access_token=%5Bredacted:token%5D&token_type=bearer"},
		{name: "card in a fragment", in: "https://h/#4242424242424242", want: "https://h/#%5Bcard:visa:4242%5D"},
		{name: "opaque", in: "mailto:4242424242424242@example.com", want: "mailto:[card:visa:4242]@example.com"},
		{name: "unparseable as text", in: "http://h/a%zz?card=4242424242424242", want: "http://h/a%zz?card=[card:visa:4242]"},
		{name: "relative", in: "/v1/charges?password=x", want: "/v1/charges?password=%5Bredacted%3Apassword%5D"},
		{name: "empty query and fragment kept", in: "https://h/p?#", want: "https://h/p?#"},
		{name: "ipv6 host", in: "http://[::1]:8080/x?a=1", want: "http://[::1]:8080/x?a=1"},
		{name: "no authority", in: "file:///etc/hosts", want: "file:///etc/hosts"},
		{name: "colon in a first segment (FuzzURL)", in: "token=00", want: "token=%5Bredacted%3Atoken%5D"},
		{name: "parseable once scrubbed as text (FuzzURL)", in: "https://ada:hunter2@h/p#cvc=1%zz",
			want: "https://ada:%5Bredacted%3Apassword%5D@h/p#cvc=[redacted:cvc]"},
		{name: "card in the scheme (FuzzURL)", in: "A4008080800070:", want: "A[card:visa:0070]:", unparseable: true},
		{name: "card as host", in: "http://4242424242424242/x", want: "http://[card:visa:4242]/x", unparseable: true},
		{name: "scheme-relative", in: "//cdn.example/4242424242424242.png", want: "//cdn.example/%5Bcard%3Avisa%3A4242%5D.png"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Default().URL(tc.in)
			if got != tc.want {
				t.Errorf("URL(%q)\n got %q\nwant %q", hidePAN(tc.in), hidePAN(got), hidePAN(tc.want))
			}
			if again := Default().URL(got); again != got {
				t.Errorf("not idempotent: %q then %q", hidePAN(got), hidePAN(again))
			}
			if panIn([]byte(got)) {
				t.Errorf("a card number survives in %q", hidePAN(got))
			}
			if _, err := url.Parse(tc.in); err == nil && !tc.unparseable {
				u, err := url.Parse(got)
				if err != nil {
					t.Fatalf("output does not parse: %v", err)
				}
				for _, part := range []string{u.Path, u.Fragment, u.Opaque, u.User.String()} {
					if panIn([]byte(part)) {
						t.Errorf("a card number survives decoded in %q", hidePAN(part))
					}
				}
			}
		})
	}
}

func TestURLValues(t *testing.T) {
	in := url.Values{
		"card_number":      {"4242424242424242", "4242424242424241"},
		"cvc":              {"123"},
		"note":             {"pay 4242424242424242 now", "thanks"},
		"4242424242424242": {"x"},
		"token":            {"pm_1AbcDEFghi"},
		"empty":            {},
		"password":         {""},
	}
	before := url.Values{}
	for k, v := range in {
		before[k] = append([]string{}, v...)
	}
	want := url.Values{
		"card_number":      {"[card:visa:4242]", "[redacted:card]"},
		"cvc":              {"[redacted:cvc]"},
		"note":             {"pay [card:visa:4242] now", "thanks"},
		"[card:visa:4242]": {"x"},
		"token":            {"pm_1AbcDEFghi"},
		"empty":            {},
		"password":         {""},
	}
	got := Default().URLValues(in)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("URLValues\n got %v\nwant %v", hidePAN(got.Encode()), hidePAN(want.Encode()))
	}
	if !reflect.DeepEqual(in, before) {
		t.Error("URLValues changed its argument")
	}
	if Default().URLValues(nil) != nil {
		t.Error("URLValues(nil) is not nil")
	}
}
