package report

import (
	"fmt"
	"html"
	"html/template"
	"strconv"
	"strings"
)

// The SVG here is written by hand, not through html/template, because charts need arithmetic.
// Every string that comes from the Report goes through esc; everything else is a number or a
// constant. The result is marked template.HTML so the page template embeds it as is.

// Chart geometry, in SVG user units. The page scales the chart to its width.
const (
	chartW      = 720.0
	chartH      = 210.0
	chartLeft   = 64.0 // room for the y-axis labels
	chartRight  = 12.0
	chartTop    = 14.0
	chartBottom = 40.0 // room for the x-axis labels
	maxBarW     = 36.0 // a single day should not become one huge slab
	// maxDayTicks is how many dates the x axis labels at most when it labels by day.
	maxDayTicks = 8
	// dayTickLimit is the longest period labelled by day; longer ones are labelled by month.
	dayTickLimit = 62
)

// Ink used by the SVG. Dark greys and black only, so charts and the diagram read the same on
// a black-and-white printer.
const (
	inkText  = "#111"
	inkBar   = "#4a4a4a"
	inkGrid  = "#b0b0b0"
	inkMuted = "#555"
	fontSans = `'DejaVu Sans','Liberation Sans',Arial,sans-serif`
	fontMono = `'DejaVu Sans Mono','Liberation Mono',monospace`
)

// esc escapes a string for SVG text content and attribute values.
func svgEscape(s string) string { return html.EscapeString(s) }

// ff formats a coordinate with one decimal, the same way every time.
func svgNum(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// svgBuilder accumulates SVG markup.
type svgBuilder struct{ strings.Builder }

// raw appends markup built only from numbers and constants.
func (b *svgBuilder) raw(format string, args ...any) { fmt.Fprintf(&b.Builder, format, args...) }

// text appends a <text> element whose content is escaped.
func (b *svgBuilder) text(x, y float64, anchor, style, content string) {
	b.raw(`<text x="%s" y="%s" text-anchor="%s" %s>%s</text>`, svgNum(x), svgNum(y), anchor, style, svgEscape(content))
}

// chartSeries is one daily series to draw.
type chartSeries struct {
	Title  string // "Tokenizations"
	Values []int64
}

// barChart draws one series as a bar chart with labelled axes: a y axis from 0 to a round
// number with grid lines, and dates on the x axis. Each bar carries a <title> with its date
// and value. dates and s.Values have the same length; with none it draws the axes and says
// there is no data.
func barChart(dates []string, s chartSeries) template.HTML {
	var b svgBuilder
	b.raw(`<svg class="chart" viewBox="0 0 %s %s" role="img" aria-label="%s per day">`,
		svgNum(chartW), svgNum(chartH), svgEscape(s.Title))
	b.raw(`<title>%s per day (UTC)</title>`, svgEscape(s.Title))

	plotW := chartW - chartLeft - chartRight
	plotH := chartH - chartTop - chartBottom
	x0, y0 := chartLeft, chartTop+plotH // origin, bottom left of the plot

	var peak int64
	for _, v := range s.Values {
		peak = max(peak, v)
	}
	step := niceStep(peak)
	top := step * ((peak + step - 1) / step)
	if top == 0 {
		top = step
	}

	// Grid lines and y labels.
	small := `font-size="11" fill="` + inkText + `" font-family="` + fontSans + `"`
	for v := int64(0); v <= top; v += step {
		y := y0 - float64(v)/float64(top)*plotH
		if v > 0 {
			b.raw(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="0.8" stroke-dasharray="3 3"/>`,
				svgNum(x0), svgNum(y), svgNum(x0+plotW), svgNum(y), inkGrid)
		}
		b.raw(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1"/>`, svgNum(x0-4), svgNum(y), svgNum(x0), svgNum(y), inkText)
		b.text(x0-7, y+4, "end", small, formatInt(v))
	}

	n := len(s.Values)
	if n == 0 {
		b.text(x0+plotW/2, chartTop+plotH/2, "middle", `font-size="13" fill="`+inkMuted+`" font-family="`+fontSans+`"`, "no days in the period")
	}
	slot := 0.0
	if n > 0 {
		slot = plotW / float64(n)
	}
	barW := slot
	if slot >= 3 {
		barW = slot * 0.8
	}
	barW = min(barW, maxBarW)
	for i, v := range s.Values {
		if v <= 0 {
			continue
		}
		h := float64(v) / float64(top) * plotH
		h = max(h, 1) // a day with any activity stays visible
		x := x0 + float64(i)*slot + (slot-barW)/2
		b.raw(`<rect x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s: %s</title></rect>`,
			svgNum(x), svgNum(y0-h), svgNum(barW), svgNum(h), inkBar, svgEscape(dates[i]), formatInt(v))
	}

	// x labels.
	ticks, monthly := dateTicks(dates)
	for _, i := range ticks {
		x := x0 + float64(i)*slot + slot/2
		b.raw(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1"/>`, svgNum(x), svgNum(y0), svgNum(x), svgNum(y0+5), inkText)
		label := dates[i]
		if monthly {
			label = strings.TrimSuffix(label, "-01") // YYYY-MM
		}
		b.text(x, y0+19, "middle", small, label)
	}

	// Axes last, so bars do not cover them.
	b.raw(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1.5"/>`, svgNum(x0), svgNum(chartTop), svgNum(x0), svgNum(y0), inkText)
	b.raw(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1.5"/>`, svgNum(x0), svgNum(y0), svgNum(x0+plotW), svgNum(y0), inkText)
	b.text(x0+plotW/2, chartH-4, "middle", small, "day (UTC)")
	b.raw(`<text x="14" y="%s" text-anchor="middle" transform="rotate(-90 14 %s)" %s>%s</text>`,
		svgNum(chartTop+plotH/2), svgNum(chartTop+plotH/2), small, svgEscape(strings.ToLower(s.Title)))
	b.raw(`</svg>`)
	return template.HTML(b.String())
}

// niceStep returns the y-axis grid step for a maximum: 1, 2 or 5 times a power of ten, so the
// axis has at most six labels.
func niceStep(peak int64) int64 {
	target := (peak + 4) / 5
	if target < 1 {
		return 1
	}
	mag := int64(1)
	for mag <= target/10 {
		mag *= 10
	}
	for _, m := range []int64{1, 2, 5} {
		if m*mag >= target {
			return m * mag
		}
	}
	return 10 * mag
}

// dateTicks picks which days get a label on the x axis: up to maxDayTicks evenly spaced days
// for short periods, the first of each month (thinned to about a dozen) for long ones, in
// which case monthly is true.
func dateTicks(dates []string) (ticks []int, monthly bool) {
	n := len(dates)
	if n == 0 {
		return nil, false
	}
	if n > dayTickLimit {
		var months []int
		for i, d := range dates {
			if strings.HasSuffix(d, "-01") {
				months = append(months, i)
			}
		}
		if len(months) > 0 {
			every := (len(months) + 11) / 12
			for j := 0; j < len(months); j += every {
				ticks = append(ticks, months[j])
			}
			return ticks, true
		}
	}
	every := (n + maxDayTicks - 1) / maxDayTicks
	for i := 0; i < n; i += every {
		ticks = append(ticks, i)
	}
	return ticks, false
}

// Flow diagram geometry, in SVG user units. The diagram is drawn narrow enough that, scaled to
// the width of an A4 page, its smallest text still prints at about 7 points.
const (
	flowW      = 880.0
	flowTop    = 16.0
	monoSize   = 12.0 // box contents
	lineH      = 16.0 // one line of monospace text inside a box
	charW      = 7.3  // advance of one monospace character at monoSize, rounded up
	arrowGap   = 36.0 // vertical distance between arrows that share a box edge
	firstArrow = 32.0 // first arrow below a box's top edge
	rowGap     = 70.0 // space between the browser box and the app box
	cardStroke = 3.5  // arrows that carry card data
	thinStroke = 1.5  // arrows that carry none
	legendH    = 58.0 // the key below the diagram
	boxPad     = 10.0 // text inset inside a box
	boxTitleY  = 22.0 // title baseline below the box top
	boxSubY    = 41.0 // subtitle baseline
	boxLinesY  = 62.0 // first content line baseline, when the subtitle is one line
	boxMinH    = 72.0 // a box with no content lines
	arrowHeadL = 10.0 // arrowhead length
	arrowHeadW = 5.5  // arrowhead half width
	numberR    = 10.0 // radius of the circled flow number
	labelAbove = 6.0  // arrow label baseline above the number's circle
	colLeftX   = 10.0 // browser and app
	colLeftW   = 270.0
	colMidX    = 360.0 // tokenwall
	colMidW    = 170.0
	colRightX  = 610.0 // gateway
	colRightW  = 260.0
)

// flowBox is one participant of the flow diagram.
type flowBox struct {
	x, y, w, h float64
	title      string
	sub        string // shown in monospace under the title, wrapped
	lines      []string
	heavy      bool // tokenwall itself: a thicker border
}

// flowArrow is one numbered arrow between two participants.
type flowArrow struct {
	n        int
	x1, x2   float64 // from, to; the head is at x2
	y        float64
	label    string
	cardData bool
}

// flowStep is one numbered step of the card data flow, described in words under the diagram.
type flowStep struct {
	N        int
	From, To string
	What     string
	CardData bool
	Routes   []string // per-route details, one line each
}

// flowDiagram draws r.Flow: the browser posts card fields to tokenwall, tokenwall sends them to
// the gateway and forwards only the result fields to the app; webhooks and the /v1 API when
// configured. It returns the SVG and the numbered steps, which the page lists in words.
func flowDiagram(f Flow) (template.HTML, []flowStep) {
	webhooks := f.Webhooks != "" || f.DeliverURL != ""
	browser, gateway, tw, app := flowBoxes(f, webhooks)
	plan, steps, gwRow, appRow := planFlow(f, webhooks, browser, gateway, tw, app)

	// Heights: every box holds its text; the gateway reaches below its last arrow.
	browser.h = boxHeight(browser)
	gateway.h = max(boxHeight(gateway), firstArrow+float64(gwRow-1)*arrowGap+24)
	app.y = browser.y + browser.h + rowGap
	app.h = max(boxHeight(app), firstArrow+float64(appRow-1)*arrowGap+24)
	tw.h = max(boxHeight(tw), max(app.y+app.h, gateway.y+gateway.h)-tw.y)

	height := tw.y + tw.h + legendH + 8
	var b svgBuilder
	b.raw(`<svg class="flow" viewBox="0 0 %s %s" role="img" aria-label="card data flow">`, svgNum(flowW), svgNum(height))
	b.raw(`<title>Card data flow</title>`)
	for _, bx := range []flowBox{browser, tw, gateway, app} {
		drawBox(&b, bx)
	}
	for _, p := range plan {
		a := p.a
		if p.rel {
			a.y += app.y
		}
		drawArrow(&b, a)
	}
	drawLegend(&b, tw.y+tw.h+22)
	b.raw(`</svg>`)
	return template.HTML(b.String()), steps
}

// flowBoxes returns the participants and what each one sees. Their heights, and the app
// box's y, depend on the arrows and are set once those are planned.
func flowBoxes(f Flow, webhooks bool) (browser, gateway, tw, app flowBox) {
	var browserLines, gatewayLines, appLines []string
	for _, rt := range f.Routes {
		browserLines = append(browserLines, strings.Join(orDash(rt.Methods), ",")+" "+rt.Path)
	}
	if len(f.Routes) == 0 {
		browserLines = append(browserLines, "(no tokenization routes)")
	}
	gatewayLines = append(gatewayLines, "card fields, per route:")
	if len(f.Routes) == 0 {
		gatewayLines = append(gatewayLines, "(none)")
	}
	for _, rt := range f.Routes {
		gatewayLines = append(gatewayLines, rt.Path+": "+joinOrNone(rt.CardFields))
	}
	appLines = append(appLines, "receives only, per route:")
	if len(f.Routes) == 0 {
		appLines = append(appLines, "(none)")
	}
	for _, rt := range f.Routes {
		appLines = append(appLines, rt.Path+": "+joinOrNone(rt.ResultFields))
	}
	if webhooks {
		appLines = append(appLines, "webhooks delivered to:")
		appLines = append(appLines, orNotSet(f.DeliverURL))
	}
	twLines := []string{fmt.Sprintf("routes: %d", len(f.Routes))}
	if webhooks {
		twLines = append(twLines, "webhooks at:")
		twLines = append(twLines, orNotSet(f.Webhooks))
	}
	if f.API {
		twLines = append(twLines, "/v1 API: on")
	} else {
		twLines = append(twLines, "/v1 API: off")
	}
	twLines = append(twLines, "audit trail")

	browser = flowBox{x: colLeftX, y: flowTop, w: colLeftW, title: "Browser", sub: "checkout form", lines: browserLines}
	gateway = flowBox{x: colRightX, y: flowTop, w: colRightW, title: "Payment gateway", sub: orNotSet(f.Gateway), lines: gatewayLines}
	tw = flowBox{x: colMidX, y: flowTop, w: colMidW, title: "tokenwall", sub: "listen " + orNotSet(f.Listen), lines: twLines, heavy: true}
	app = flowBox{x: colLeftX, w: colLeftW, title: "Billing app (upstream)", sub: orNotSet(f.Upstream), lines: appLines}
	return browser, gateway, tw, app
}

// plannedArrow is an arrow of the diagram before the app box's y is known.
type plannedArrow struct {
	a   flowArrow
	rel bool // y is relative to the app box
}

// planFlow numbers the arrows in the order the data moves and describes each step in words.
// It returns how many arrow rows the gateway and app boxes need, which sets their heights.
func planFlow(f Flow, webhooks bool, browser, gateway, tw, app flowBox) (plan []plannedArrow, steps []flowStep, gwRow, appRow int) {
	n := 0
	next := func() int { n++; return n }

	var routeIn, routeGW, routeApp []string
	for _, rt := range f.Routes {
		routeIn = append(routeIn, fmt.Sprintf("%s %s (%s body): card fields %s",
			strings.Join(orDash(rt.Methods), ","), rt.Path, orDashS(rt.Body), joinOrNone(rt.CardFields)))
		routeGW = append(routeGW, fmt.Sprintf("%s: %s", rt.Path, joinOrNone(rt.CardFields)))
		routeApp = append(routeApp, fmt.Sprintf("%s: %s", rt.Path, joinOrNone(rt.ResultFields)))
	}

	// Right-hand side: gateway rows.
	gwY := func() float64 { y := gateway.y + firstArrow + float64(gwRow)*arrowGap; gwRow++; return y }
	// App arrows are placed relative to the app box, whose y is known last.
	appY := func() float64 { y := firstArrow + float64(appRow)*arrowGap; appRow++; return y }

	s := next()
	plan = append(plan, plannedArrow{a: flowArrow{n: s, x1: browser.x + browser.w, x2: tw.x, y: browser.y + firstArrow, label: "card data", cardData: true}})
	steps = append(steps, flowStep{N: s, From: "Browser", To: "tokenwall " + orNotSet(f.Listen),
		What: "The checkout form posts the card over TLS to tokenwall.", CardData: true, Routes: routeIn})
	s = next()
	plan = append(plan, plannedArrow{a: flowArrow{n: s, x1: tw.x + tw.w, x2: gateway.x, y: gwY(), label: "card data", cardData: true}})
	steps = append(steps, flowStep{N: s, From: "tokenwall", To: "payment gateway " + orNotSet(f.Gateway),
		What: "tokenwall sends the card fields, and only to the gateway, which returns a token.", CardData: true, Routes: routeGW})
	s = next()
	y := appY()
	plan = append(plan, plannedArrow{a: flowArrow{n: s, x1: tw.x, x2: app.x + app.w, y: y, label: "token only"}, rel: true})
	steps = append(steps, flowStep{N: s, From: "tokenwall", To: "billing app " + orNotSet(f.Upstream),
		What: "tokenwall forwards the request with the card fields replaced: the app receives only these fields.", Routes: routeApp})
	if webhooks {
		s = next()
		plan = append(plan, plannedArrow{a: flowArrow{n: s, x1: gateway.x, x2: tw.x + tw.w, y: gwY(), label: "webhooks"}})
		steps = append(steps, flowStep{N: s, From: "payment gateway", To: "tokenwall " + orNotSet(f.Webhooks),
			What: "The gateway posts webhooks; tokenwall verifies the signature, deduplicates, scrubs and stores them."})
		s = next()
		y = appY()
		plan = append(plan, plannedArrow{a: flowArrow{n: s, x1: tw.x, x2: app.x + app.w, y: y, label: "webhooks"}, rel: true})
		steps = append(steps, flowStep{N: s, From: "tokenwall", To: "billing app " + orNotSet(f.DeliverURL),
			What: "tokenwall delivers the scrubbed webhooks, signed, with retries."})
	}
	if f.API {
		s = next()
		y = appY()
		plan = append(plan, plannedArrow{a: flowArrow{n: s, x1: app.x + app.w, x2: tw.x, y: y, label: "/v1 API"}, rel: true})
		steps = append(steps, flowStep{N: s, From: "billing app", To: "tokenwall /v1 API",
			What: "The app calls the /v1 API with an API key and a token: charge, refund, erase."})
		s = next()
		plan = append(plan, plannedArrow{a: flowArrow{n: s, x1: tw.x + tw.w, x2: gateway.x, y: gwY(), label: "token calls"}})
		steps = append(steps, flowStep{N: s, From: "tokenwall", To: "payment gateway",
			What: "tokenwall makes the gateway call with the token; no card data is involved."})
	}
	return plan, steps, gwRow, appRow
}

// boxText wraps a box's subtitle and lines to its width.
func boxText(bx flowBox) (sub, lines []string) {
	cols := int((bx.w - 2*boxPad) / charW)
	sub = wrapText(bx.sub, cols)
	for _, l := range bx.lines {
		lines = append(lines, wrapText(l, cols)...)
	}
	return sub, lines
}

// boxHeight is the height a box needs for its title, subtitle and lines.
func boxHeight(bx flowBox) float64 {
	sub, lines := boxText(bx)
	h := boxLinesY + float64(len(sub)-1)*lineH + float64(len(lines))*lineH - 6
	return max(h, boxMinH)
}

// drawBox draws a participant: a white box with a black border, a bold title, and its
// subtitle and lines in monospace.
func drawBox(b *svgBuilder, bx flowBox) {
	stroke := 1.5
	if bx.heavy {
		stroke = 3
	}
	b.raw(`<rect x="%s" y="%s" width="%s" height="%s" rx="6" fill="#fff" stroke="%s" stroke-width="%s"/>`,
		svgNum(bx.x), svgNum(bx.y), svgNum(bx.w), svgNum(bx.h), inkText, svgNum(stroke))
	b.text(bx.x+boxPad, bx.y+boxTitleY, "start", `font-size="16" font-weight="bold" fill="`+inkText+`" font-family="`+fontSans+`"`, bx.title)
	mono := `font-size="` + svgNum(monoSize) + `" fill="` + inkText + `" font-family="` + fontMono + `"`
	sub, lines := boxText(bx)
	y := bx.y + boxSubY
	for _, l := range sub {
		b.text(bx.x+boxPad, y, "start", mono, l)
		y += lineH
	}
	y = y - lineH + (boxLinesY - boxSubY)
	for _, l := range lines {
		b.text(bx.x+boxPad, y, "start", mono, l)
		y += lineH
	}
}

// drawArrow draws a horizontal arrow with its number in a circle and a short label above.
// Arrows that carry card data are thick and solid; the others thin and dashed.
func drawArrow(b *svgBuilder, a flowArrow) {
	dir := 1.0
	if a.x2 < a.x1 {
		dir = -1
	}
	tip := a.x2 - dir*2
	base := tip - dir*arrowHeadL
	width, dash := cardStroke, ""
	if !a.cardData {
		width, dash = thinStroke, ` stroke-dasharray="6 4"`
	}
	b.raw(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="%s"%s/>`,
		svgNum(a.x1), svgNum(a.y), svgNum(base), svgNum(a.y), inkText, svgNum(width), dash)
	b.raw(`<polygon points="%s,%s %s,%s %s,%s" fill="%s"/>`,
		svgNum(tip), svgNum(a.y), svgNum(base), svgNum(a.y-arrowHeadW), svgNum(base), svgNum(a.y+arrowHeadW), inkText)
	mid := (a.x1 + a.x2) / 2
	b.raw(`<circle cx="%s" cy="%s" r="%s" fill="#fff" stroke="%s" stroke-width="1.2"/>`, svgNum(mid), svgNum(a.y), svgNum(numberR), inkText)
	b.text(mid, a.y+4.5, "middle", `font-size="13" font-weight="bold" fill="`+inkText+`" font-family="`+fontSans+`"`, strconv.Itoa(a.n))
	b.text(mid, a.y-numberR-labelAbove+3, "middle", `font-size="12" fill="`+inkText+`" font-family="`+fontSans+`"`, a.label)
}

// drawLegend explains the two kinds of arrow.
func drawLegend(b *svgBuilder, y float64) {
	style := `font-size="13" fill="` + inkText + `" font-family="` + fontSans + `"`
	b.raw(`<line x1="10" y1="%s" x2="60" y2="%s" stroke="%s" stroke-width="%s"/>`, svgNum(y), svgNum(y), inkText, svgNum(cardStroke))
	b.text(70, y+4.5, "start", style, "carries card data (PCI DSS scope)")
	b.raw(`<line x1="360" y1="%s" x2="410" y2="%s" stroke="%s" stroke-width="%s" stroke-dasharray="6 4"/>`, svgNum(y), svgNum(y), inkText, svgNum(thinStroke))
	b.text(420, y+4.5, "start", style, "no card data: tokens, webhooks, API calls")
	b.text(10, y+28, "start", `font-size="12" fill="`+inkMuted+`" font-family="`+fontSans+`"`,
		"Numbers match the steps listed below the diagram.")
}
