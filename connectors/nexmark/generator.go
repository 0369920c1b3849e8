// Package nexmark generates the Nexmark benchmark's events — people
// registering, auctions opening and bids on them — as JSON records, for
// `kda bench nexmark` and as the built-in source kind "nexmark" that feeds
// an application's input stream.
//
// The model is the public Nexmark benchmark's, as its Apache Beam and Flink
// generators define it (this is an independent implementation of the same
// rules, not a port of their code): of every 50 events, 1 is a new person,
// 3 are new auctions and 46 are bids; half the bids go to a "hot" auction
// (the first of the latest hundred auctions), three quarters are by a "hot"
// bidder and three quarters of the auctions by a "hot" seller (likewise
// among the latest hundred people); the others pick among the active
// people (the latest 1,000) and the auctions in flight (the latest 100).
// Prices are log-uniform from $1 to $10,000 (in cents), half the bids come
// through one of four hot channels, and each event carries an "extra"
// padding string so that people, auctions and bids average about 200, 500
// and 100 bytes of payload, as in Nexmark.
//
// Events are numbered from 0 and are a pure function of (Seed, number):
// each event draws from its own random stream, so any event can be made on
// its own (the source seeks by number) and a run is deterministic. Event n
// happens at BaseTime + n/EventsPerSecond, so event time never goes back.
//
// A record is one JSON object with the event's type and the event under
// the key "person", "auction" or "bid", the layout of the Flink Nexmark
// table (times as "yyyy-MM-dd HH:mm:ss.SSS", UTC):
//
//	{"event_type":2,"bid":{"auction":1007,"bidder":1001,"price":1804,"channel":"Google",
//	 "url":"https://www.nexmark.com/...","dateTime":"2026-01-01 00:00:00.004","extra":"..."}}
//
// InputSchema maps the fields to columns (BID_AUCTION, PERSON_NAME, …), as
// `kda discover` would name them, upper-cased.
package nexmark

import (
	"math"
	"strconv"
	"time"
	"unsafe"
)

// Kind is an event's type, its "event_type" in JSON.
type Kind uint8

// Event types, numbered as in Flink's Nexmark table.
const (
	KindPerson  Kind = 0
	KindAuction Kind = 1
	KindBid     Kind = 2
)

func (k Kind) String() string {
	switch k {
	case KindPerson:
		return "person"
	case KindAuction:
		return "auction"
	}
	return "bid"
}

// The Nexmark model's constants (GeneratorConfig / NexmarkConfiguration
// defaults of the Beam and Flink generators).
const (
	// PersonProportion, AuctionProportion and BidProportion are the event
	// mix: of every TotalProportion events, the first is a person, the next
	// three auctions, the rest bids.
	PersonProportion  = 1
	AuctionProportion = 3
	BidProportion     = 46
	TotalProportion   = PersonProportion + AuctionProportion + BidProportion

	// FirstPersonID, FirstAuctionID and FirstCategoryID offset the ids so
	// that small runs still find matches.
	FirstPersonID   = 1000
	FirstAuctionID  = 1000
	FirstCategoryID = 10
	// NumCategories is how many auction categories there are.
	NumCategories = 5

	// HotAuctionRatio: 1 - 1/2 of the bids go to a hot auction;
	// HotBiddersRatio: 1 - 1/4 are by a hot bidder; HotSellersRatio: 1 - 1/4
	// of the auctions are by a hot seller.
	HotAuctionRatio = 2
	HotBiddersRatio = 4
	HotSellersRatio = 4
	// hotBlock: the hot auction, bidder and seller are the first (bidder:
	// the second) of the latest hotBlock auctions or people.
	hotBlock = 100

	// NumActivePeople is how many of the latest people bid and sell;
	// NumInFlightAuctions how many of the latest auctions take bids.
	NumActivePeople     = 1000
	NumInFlightAuctions = 100
	// idLead is how many not yet created people and auctions an id may
	// name (Nexmark's PERSON_ID_LEAD and AUCTION_ID_LEAD).
	idLead = 10

	// AvgPersonBytes, AvgAuctionBytes and AvgBidBytes are the payload
	// sizes the extra padding aims at.
	AvgPersonBytes  = 200
	AvgAuctionBytes = 500
	AvgBidBytes     = 100

	// hotChannelsRatio: 1 - 1/2 of the bids come through a hot channel;
	// the others through one of numChannels numbered channels.
	hotChannelsRatio = 2
	numChannels      = 10000
)

// Defaults of Config.
const (
	DefaultEventsPerSecond = 10000
	DefaultSeed            = 1
)

// DefaultBaseTime is the time of event 0 unless Config.BaseTime is set.
var DefaultBaseTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Config configures a Generator; the zero value takes the defaults.
type Config struct {
	// EventsPerSecond is the event-time rate: event n happens at
	// BaseTime + n/EventsPerSecond (default 10,000, Nexmark's).
	EventsPerSecond float64
	// Seed selects the run: the same seed gives the same events (default 1).
	Seed uint64
	// BaseTime is the event time of event 0 (default DefaultBaseTime).
	BaseTime time.Time
}

// EnsureDefaults fills the unset fields.
func (c *Config) EnsureDefaults() {
	if c.EventsPerSecond <= 0 {
		c.EventsPerSecond = DefaultEventsPerSecond
	}
	if c.Seed == 0 {
		c.Seed = DefaultSeed
	}
	if c.BaseTime.IsZero() {
		c.BaseTime = DefaultBaseTime
	}
}

// Person is a new person (a potential seller and bidder).
type Person struct {
	ID           int64
	Name         string
	EmailAddress string
	CreditCard   string
	City         string
	State        string
	DateTime     time.Time
	Extra        string
}

// Auction is a new auction.
type Auction struct {
	ID          int64
	ItemName    string
	Description string
	InitialBid  int64
	Reserve     int64
	DateTime    time.Time
	Expires     time.Time
	Seller      int64
	Category    int64
	Extra       string
}

// Bid is a bid on an auction; Price is in cents.
type Bid struct {
	Auction  int64
	Bidder   int64
	Price    int64
	Channel  string
	URL      string
	DateTime time.Time
	Extra    string
}

// Event is one generated event; the field its Kind names is set.
type Event struct {
	Kind    Kind
	Number  int64
	Time    time.Time
	Person  Person
	Auction Auction
	Bid     Bid
}

// Generator makes events. It holds no mutable state, so it is safe for
// concurrent use (a Batch is not).
type Generator struct {
	cfg   Config
	delay float64 // nanoseconds between events
	base  int64   // BaseTime in Unix nanoseconds
	// hotURLs are the hot channels' URLs, fixed per seed.
	hotURLs [len(hotChannels)]string
	// channels are the names and URLs of the numbered channels, made once
	// rather than per bid.
	channels []channel
}

// channel is a numbered channel's name and URL.
type channel struct{ name, url string }

// New returns a generator for cfg (after defaults).
func New(cfg Config) *Generator {
	cfg.EnsureDefaults()
	g := &Generator{cfg: cfg, delay: 1e9 / cfg.EventsPerSecond, base: cfg.BaseTime.UnixNano()}
	r := newRand(cfg.Seed, math.MaxUint64)
	for i := range g.hotURLs {
		g.hotURLs[i] = baseURL(&r)
	}
	g.channels = make([]channel, numChannels)
	for c := range g.channels {
		g.channels[c] = channel{name: "channel-" + strconv.Itoa(c), url: g.channelURL(c)}
	}
	return g
}

// Config is the generator's configuration, with defaults.
func (g *Generator) Config() Config { return g.cfg }

// KindOf is the type of event n.
func KindOf(n int64) Kind {
	switch off := n % TotalProportion; {
	case off < PersonProportion:
		return KindPerson
	case off < PersonProportion+AuctionProportion:
		return KindAuction
	}
	return KindBid
}

// TimeOf is the event time of event n.
func (g *Generator) TimeOf(n int64) time.Time {
	return time.Unix(0, g.nanosOf(n)).UTC()
}

func (g *Generator) nanosOf(n int64) int64 {
	return g.base + int64(float64(n)*g.delay)
}

// Event makes event n.
func (g *Generator) Event(n int64) Event {
	r := newRand(g.cfg.Seed, uint64(n))
	e := Event{Kind: KindOf(n), Number: n, Time: g.TimeOf(n)}
	switch e.Kind {
	case KindPerson:
		e.Person = g.person(n, &r, e.Time)
	case KindAuction:
		e.Auction = g.auction(n, &r, e.Time)
	default:
		e.Bid = g.bid(n, &r, e.Time)
	}
	return e
}

// lastPerson is the base-0 id of the latest person at event n (n's own
// when n is a person).
func lastPerson(n int64) int64 {
	epoch, off := n/TotalProportion, n%TotalProportion
	if off >= PersonProportion {
		off = PersonProportion - 1
	}
	return epoch*PersonProportion + off
}

// lastAuction is the base-0 id of the latest auction at event n (n's own
// when n is an auction; -1 before the first).
func lastAuction(n int64) int64 {
	epoch, off := n/TotalProportion, n%TotalProportion
	switch {
	case off < PersonProportion:
		epoch--
		off = AuctionProportion - 1
	case off >= PersonProportion+AuctionProportion:
		off = AuctionProportion - 1
	default:
		off -= PersonProportion
	}
	return epoch*AuctionProportion + off
}

// activePerson picks a base-0 person among the active ones (and a few not
// yet created).
func activePerson(n int64, r *rng) int64 {
	people := lastPerson(n) + 1
	active := min(people, NumActivePeople)
	return people - active + r.int63n(active+idLead)
}

// inFlightAuction picks a base-0 auction among those in flight (and a few
// not yet created).
func inFlightAuction(n int64, r *rng) int64 {
	last := lastAuction(n)
	lo := max(last-NumInFlightAuctions, 0)
	return lo + r.int63n(last-lo+1+idLead)
}

// price is log-uniform between 100 and 100,000,000 cents.
func price(r *rng) int64 {
	return int64(math.Round(math.Pow(10, r.float64()*6) * 100))
}

var (
	usStates   = [...]string{"AZ", "CA", "ID", "OR", "WA", "WY"}
	usCities   = [...]string{"Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland", "Bend", "Redmond", "Seattle", "Kent", "Cheyenne"}
	firstNames = [...]string{"Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter"}
	lastNames  = [...]string{"Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris"}

	hotChannels = [...]string{"Google", "Facebook", "Baidu", "Apple"}
)

func (g *Generator) person(n int64, r *rng, at time.Time) Person {
	p := Person{
		ID:           lastPerson(n) + FirstPersonID,
		Name:         firstNames[r.intn(len(firstNames))] + " " + lastNames[r.intn(len(lastNames))],
		EmailAddress: r.text(7) + "@" + r.text(5) + ".com",
		City:         usCities[r.intn(len(usCities))],
		State:        usStates[r.intn(len(usStates))],
		DateTime:     at,
	}
	cc := make([]byte, 0, 19)
	for i := range 4 {
		if i > 0 {
			cc = append(cc, ' ')
		}
		cc = append(cc, strconv.Itoa(10000 + r.intn(10000))[1:]...)
	}
	p.CreditCard = string(cc)
	p.Extra = r.extra(8+len(p.Name)+len(p.EmailAddress)+len(p.CreditCard)+len(p.City)+len(p.State), AvgPersonBytes)
	return p
}

func (g *Generator) auction(n int64, r *rng, at time.Time) Auction {
	a := Auction{ID: lastAuction(n) + FirstAuctionID, DateTime: at}
	if r.intn(HotSellersRatio) > 0 {
		a.Seller = lastPerson(n) / hotBlock * hotBlock
	} else {
		a.Seller = activePerson(n, r)
	}
	a.Seller += FirstPersonID
	a.Category = FirstCategoryID + int64(r.intn(NumCategories))
	a.InitialBid = price(r)
	// An auction lasts up to twice the time the next NumInFlightAuctions
	// auctions take to open, so about that many are open at once.
	horizon := g.nanosOf(n+NumInFlightAuctions*TotalProportion/AuctionProportion) - g.nanosOf(n)
	a.Expires = at.Add(time.Duration(1+r.int63n(max(2*horizon/1e6, 1))) * time.Millisecond)
	a.ItemName = r.text(20)
	a.Description = r.text(100)
	a.Reserve = a.InitialBid + price(r)
	a.Extra = r.extra(8+len(a.ItemName)+len(a.Description)+8+8+8+8+8, AvgAuctionBytes)
	return a
}

func (g *Generator) bid(n int64, r *rng, at time.Time) Bid {
	b := Bid{DateTime: at}
	if r.intn(HotAuctionRatio) > 0 {
		b.Auction = lastAuction(n) / hotBlock * hotBlock
	} else {
		b.Auction = inFlightAuction(n, r)
	}
	b.Auction += FirstAuctionID
	if r.intn(HotBiddersRatio) > 0 {
		// The second of the block, so hot bidders are not hot sellers.
		b.Bidder = lastPerson(n)/hotBlock*hotBlock + 1
	} else {
		b.Bidder = activePerson(n, r)
	}
	b.Bidder += FirstPersonID
	b.Price = price(r)
	if r.intn(hotChannelsRatio) > 0 {
		i := r.intn(len(hotChannels))
		b.Channel, b.URL = hotChannels[i], g.hotURLs[i]
	} else {
		c := &g.channels[r.intn(numChannels)]
		b.Channel, b.URL = c.name, c.url
	}
	b.Extra = r.extra(32, AvgBidBytes)
	return b
}

// channelURL is numbered channel c's URL, fixed per seed.
func (g *Generator) channelURL(c int) string {
	r := newRand(g.cfg.Seed, math.MaxUint64-1-uint64(c))
	u := baseURL(&r)
	if r.intn(10) > 0 {
		u += "&channel_id=" + strconv.Itoa(reverseBits(c))
	}
	return u
}

func baseURL(r *rng) string {
	return "https://www.nexmark.com/" + r.text(5) + "/" + r.text(5) + "/" + r.text(5) + "/item.htm?query=1"
}

// reverseBits reverses the bits of a non-negative int32 (Nexmark's channel
// ids).
func reverseBits(c int) int {
	var v uint32
	for i := 0; i < 31; i++ {
		v = v<<1 | uint32(c>>i)&1
	}
	return int(v)
}

// rng is a small deterministic random stream (SplitMix64): one per event,
// seeded by the run's seed and the event number.
type rng struct{ s uint64 }

func newRand(seed, stream uint64) rng {
	r := rng{s: seed*0x9E3779B97F4A7C15 ^ (stream+1)*0xD1B54A32D192ED03}
	r.next()
	return r
}

func (r *rng) next() uint64 {
	r.s += 0x9E3779B97F4A7C15
	z := r.s
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	return z ^ z>>31
}

// intn is uniform in [0, n) for 0 < n < 2^31.
func (r *rng) intn(n int) int { return int((r.next() >> 32) * uint64(n) >> 32) }

// int63n is uniform enough in [0, n) for 0 < n.
func (r *rng) int63n(n int64) int64 { return int64(r.next() % uint64(n)) }

func (r *rng) float64() float64 { return float64(r.next()>>11) / (1 << 53) }

// text is a random string of 3 to maxLen-1 lower-case letters and spaces.
func (r *rng) text(maxLen int) string {
	return r.exact(3 + r.intn(maxLen-3))
}

// exact is a random string of n lower-case letters, about one in 13 a
// space.
func (r *rng) exact(n int) string {
	b := make([]byte, n)
	var bits uint64
	for i := range b {
		if i%8 == 0 {
			bits = r.next()
		}
		c := byte(bits)
		bits >>= 8
		if c < 20 {
			b[i] = ' '
		} else {
			b[i] = 'a' + c%26
		}
	}
	if n == 0 {
		return ""
	}
	// b is not written again: the string can have its bytes, which saves
	// the generator an allocation and a copy per string.
	return unsafe.String(&b[0], n)
}

// extra pads an event whose fields take size bytes towards avg bytes: a
// string of avg-size bytes, ±20 %.
func (r *rng) extra(size, avg int) string {
	if size > avg {
		return ""
	}
	want := avg - size
	delta := int(math.Round(float64(want) * 0.2))
	if delta > 0 {
		want = want - delta + r.intn(2*delta)
	}
	return r.exact(want)
}
