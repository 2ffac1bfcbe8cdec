// Package devstack runs tokenwall's development and test servers, a real Vault dev server and
// Stripe's stripe-mock, as child processes on 127.0.0.1, and puts a fault-injecting proxy in
// front of them for outage tests. StartStripeMock also puts a Scenario in front of
// stripe-mock: stripe-mock validates each request's shape, the Scenario owns PaymentIntent,
// SetupIntent and PaymentMethod state as Stripe's documented state machines do (3-D Secure
// with a local challenge page for Stripe's authentication test cards, declines, signed
// webhooks), since stripe-mock answers every PaymentIntent with the same fixture.
//
// The binaries are built by "make tools" into the repository's bin folder. Every child runs in
// its own process group and, on Linux, dies with the test process, so a killed test leaves no
// orphan behind. Child output is scrubbed of card numbers, line by line, before it reaches the
// caller's log writer: stripe-mock prints every request's parameters, card number included.
package devstack
