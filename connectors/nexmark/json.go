package nexmark

import (
	"strconv"
	"time"
)

// AppendJSON appends the event as its JSON record (see the package
// comment) to dst.
func (e *Event) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"event_type":`...)
	dst = strconv.AppendInt(dst, int64(e.Kind), 10)
	switch e.Kind {
	case KindPerson:
		p := &e.Person
		dst = append(dst, `,"person":{"id":`...)
		dst = strconv.AppendInt(dst, p.ID, 10)
		dst = appendField(dst, "name", p.Name)
		dst = appendField(dst, "emailAddress", p.EmailAddress)
		dst = appendField(dst, "creditCard", p.CreditCard)
		dst = appendField(dst, "city", p.City)
		dst = appendField(dst, "state", p.State)
		dst = appendTime(dst, "dateTime", p.DateTime)
		dst = appendField(dst, "extra", p.Extra)
	case KindAuction:
		a := &e.Auction
		dst = append(dst, `,"auction":{"id":`...)
		dst = strconv.AppendInt(dst, a.ID, 10)
		dst = appendField(dst, "itemName", a.ItemName)
		dst = appendField(dst, "description", a.Description)
		dst = appendInt(dst, "initialBid", a.InitialBid)
		dst = appendInt(dst, "reserve", a.Reserve)
		dst = appendTime(dst, "dateTime", a.DateTime)
		dst = appendTime(dst, "expires", a.Expires)
		dst = appendInt(dst, "seller", a.Seller)
		dst = appendInt(dst, "category", a.Category)
		dst = appendField(dst, "extra", a.Extra)
	default:
		b := &e.Bid
		dst = append(dst, `,"bid":{"auction":`...)
		dst = strconv.AppendInt(dst, b.Auction, 10)
		dst = appendInt(dst, "bidder", b.Bidder)
		dst = appendInt(dst, "price", b.Price)
		dst = appendField(dst, "channel", b.Channel)
		dst = appendField(dst, "url", b.URL)
		dst = appendTime(dst, "dateTime", b.DateTime)
		dst = appendField(dst, "extra", b.Extra)
	}
	return append(dst, "}}"...)
}

func appendKey(dst []byte, key string) []byte {
	dst = append(dst, ',', '"')
	dst = append(dst, key...)
	return append(dst, '"', ':')
}

func appendInt(dst []byte, key string, v int64) []byte {
	return strconv.AppendInt(appendKey(dst, key), v, 10)
}

func appendField(dst []byte, key, s string) []byte {
	dst = append(appendKey(dst, key), '"')
	if !needsEscape(s) {
		dst = append(dst, s...)
		return append(dst, '"')
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20:
			dst = append(dst, `\u00`...)
			dst = append(dst, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

// needsEscape reports a string JSON cannot hold as it is (the generator
// makes none, but a Batch must stay JSON whatever the word lists hold).
func needsEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' {
			return true
		}
	}
	return false
}

// appendTime writes t (UTC) as "yyyy-MM-dd HH:mm:ss.SSS", the form KDA's
// input coercion reads as TIMESTAMP.
func appendTime(dst []byte, key string, t time.Time) []byte {
	dst = append(appendKey(dst, key), '"')
	dst = AppendTimestamp(dst, t)
	return append(dst, '"')
}

// AppendTimestamp appends t in UTC as "yyyy-MM-dd HH:mm:ss.SSS".
func AppendTimestamp(dst []byte, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	ms := t.Nanosecond() / 1e6
	dst = append4(dst, y)
	dst = append(dst, '-')
	dst = append2(dst, int(mo))
	dst = append(dst, '-')
	dst = append2(dst, d)
	dst = append(dst, ' ')
	dst = append2(dst, h)
	dst = append(dst, ':')
	dst = append2(dst, mi)
	dst = append(dst, ':')
	dst = append2(dst, s)
	dst = append(dst, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
	return dst
}

func append2(dst []byte, v int) []byte { return append(dst, byte('0'+v/10), byte('0'+v%10)) }
func append4(dst []byte, v int) []byte {
	return append(dst, byte('0'+v/1000%10), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
}

// Batch holds the JSON records of consecutive events. Data[i] points into
// the batch's buffer and stays valid until the batch is filled again.
type Batch struct {
	// First is the number of the first event.
	First int64
	Data  [][]byte
	Times []time.Time
	Kinds []Kind
	buf   []byte
	ends  []int
}

// Len is the number of events in the batch.
func (b *Batch) Len() int { return len(b.Data) }

// Fill replaces b's events with events [from, from+n), reusing b's memory.
func (g *Generator) Fill(b *Batch, from int64, n int) {
	b.First = from
	b.buf, b.ends = b.buf[:0], b.ends[:0]
	b.Times, b.Kinds = b.Times[:0], b.Kinds[:0]
	for i := range n {
		e := g.Event(from + int64(i))
		b.buf = e.AppendJSON(b.buf)
		b.ends = append(b.ends, len(b.buf))
		b.Times = append(b.Times, e.Time)
		b.Kinds = append(b.Kinds, e.Kind)
	}
	// Slice only once the buffer has stopped moving.
	b.Data = b.Data[:0]
	start := 0
	for _, end := range b.ends {
		b.Data = append(b.Data, b.buf[start:end:end])
		start = end
	}
}
