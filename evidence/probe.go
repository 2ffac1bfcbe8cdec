package evidence

import "net"

// probeAddr is where to probe: the given address, else listen.addr with an unspecified host
// replaced by loopback.
func probeAddr(given, listen string) string {
	if given != "" {
		return given
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// cardMask is the configured card mask, or the default one when scrub.card_mask is unset.
func cardMask(m string) string {
	if m == "" {
		return "brand_last4"
	}
	return m
}
