package kinesisapi

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/kdaproject/kda/engine/store"
)

func TestWireTimeJSON(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want time.Time
		err  bool
	}{
		{"fractional seconds keep their milliseconds", "1700000000.123", time.UnixMilli(1700000000123), false},
		{"whole seconds are accepted", "1700000000", time.Unix(1700000000, 0), false},
		{"exponent notation is accepted on input", "1.7e9", time.Unix(1700000000, 0), false},
		{"microseconds survive", "1700000000.000001", time.Unix(1700000000, 1000), false},
		{"null is the zero time", "null", time.Time{}, false},
		{"a string is refused", `"1700000000"`, time.Time{}, true},
		{"a date far beyond year 9999 is refused", "1e20", time.Time{}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var w wireTime
			err := w.UnmarshalJSON([]byte(c.in))
			if (err != nil) != c.err {
				t.Fatalf("err = %v, want error %v", err, c.err)
			}
			if !c.err && !w.Equal(c.want) {
				t.Errorf("got %v, want %v", w.Time, c.want)
			}
		})
	}
}

func TestWireTimeJSONIsAPlainDecimal(t *testing.T) {
	cases := []struct {
		ms   int64
		want string
	}{
		{1700000000123, "1700000000.123"},
		{1700000000000, "1700000000.000"},
		{5, "0.005"},
		{-1500, "-2.500"},
		{253402300799999, "253402300799.999"},
	}
	for _, c := range cases {
		b, err := wireTime{time.UnixMilli(c.ms)}.MarshalJSON()
		if err != nil || string(b) != c.want {
			t.Errorf("%d ms = %s (%v), want %s", c.ms, b, err, c.want)
		}
		if strings.ContainsAny(string(b), "eE") {
			t.Errorf("%d ms written in exponent notation: %s", c.ms, b)
		}
	}
}

func TestWireTimeCBOR(t *testing.T) {
	mustCBOR := func(v any) []byte {
		b, err := cbor.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ms := int64(1700000000123)
	cases := []struct {
		name string
		in   []byte
		want time.Time
		err  bool
	}{
		{"tag 1 with integer milliseconds (the Java SDK)", mustCBOR(cbor.Tag{Number: 1, Content: ms}), time.UnixMilli(ms), false},
		{"tag 1 with float milliseconds", mustCBOR(cbor.Tag{Number: 1, Content: float64(ms)}), time.UnixMilli(ms), false},
		{"an untagged integer of milliseconds", mustCBOR(ms), time.UnixMilli(ms), false},
		{"an untagged integer of seconds", mustCBOR(int64(1700000000)), time.Unix(1700000000, 0), false},
		{"an untagged float of seconds", mustCBOR(1700000000.5), time.UnixMilli(1700000000500), false},
		{"tag 0 with RFC 3339 text", mustCBOR(cbor.Tag{Number: 0, Content: "2023-11-14T22:13:20.123Z"}), time.UnixMilli(ms), false},
		{"null is the zero time", []byte{0xf6}, time.Time{}, false},
		{"text without a tag is refused", mustCBOR("yesterday"), time.Time{}, true},
		{"tag 1 around text is refused", mustCBOR(cbor.Tag{Number: 1, Content: "x"}), time.Time{}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var w wireTime
			err := w.UnmarshalCBOR(c.in)
			if (err != nil) != c.err {
				t.Fatalf("err = %v, want error %v", err, c.err)
			}
			if !c.err && !w.Equal(c.want) {
				t.Errorf("got %v, want %v", w.Time, c.want)
			}
		})
	}

	t.Run("output is tag 1 carrying integer milliseconds", func(t *testing.T) {
		b, err := wireTime{time.UnixMilli(ms)}.MarshalCBOR()
		if err != nil {
			t.Fatal(err)
		}
		var tag cbor.Tag
		if err := cbor.Unmarshal(b, &tag); err != nil {
			t.Fatal(err)
		}
		if tag.Number != 1 || tag.Content != uint64(ms) {
			t.Errorf("got tag %d content %v (%T), want tag 1 content %d", tag.Number, tag.Content, tag.Content, ms)
		}
	})
}

func TestParseContentType(t *testing.T) {
	cases := []struct {
		header string
		format wireFormat
		answer string
		ok     bool
	}{
		{"application/x-amz-json-1.1", formatJSON, contentTypeJSON11, true},
		{"application/x-amz-json-1.0", formatJSON, contentTypeJSON10, true},
		{"application/json", formatJSON, contentTypePlain, true},
		{"Application/X-Amz-Json-1.1; charset=UTF-8", formatJSON, contentTypeJSON11, true},
		{"application/x-amz-cbor-1.1", formatCBOR, contentTypeCBOR, true},
		{"application/cbor", 0, "", false},
		{"text/plain", 0, "", false},
		{"application/x-www-form-urlencoded", 0, "", false},
	}
	for _, c := range cases {
		f, answer, ok := parseContentType(c.header)
		if ok != c.ok || (ok && (f != c.format || answer != c.answer)) {
			t.Errorf("%q: got (%v, %q, %v), want (%v, %q, %v)", c.header, f, answer, ok, c.format, c.answer, c.ok)
		}
	}
}

func TestViolationsReadLikeAWS(t *testing.T) {
	var v violations
	if v.err() != nil {
		t.Fatal("no violations must be no error")
	}
	v.notNull("streamName", true)
	if got := toAPIError(v.err()).Message; got != "1 validation error detected: Value null at 'streamName' failed to satisfy constraint: Member must not be null" {
		t.Errorf("one: %q", got)
	}
	n := 20
	v.intRange("limit", &n, 1, 10)
	s := "x"
	v.enum("type", &s, "A", "B")
	want := "3 validation errors detected: Value null at 'streamName' failed to satisfy constraint: Member must not be null; " +
		"Value '20' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 10; " +
		"Value 'x' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [A, B]"
	if got := toAPIError(v.err()).Message; got != want {
		t.Errorf("three:\n got %q\nwant %q", got, want)
	}
	if code := toAPIError(v.err()).Code; code != store.CodeValidation {
		t.Errorf("code %q", code)
	}
}

func TestIsDecimal(t *testing.T) {
	for s, want := range map[string]bool{
		"0": true, "1": true, "340282366920938463463374607431768211455": true,
		"": false, "01": false, "-1": false, "1.0": false, "0x1": false, "1234567890123456789012345678901234567890": false,
	} {
		if got := isDecimal(s, 39); got != want {
			t.Errorf("isDecimal(%q) = %v, want %v", s, got, want)
		}
	}
}

// The hand-written encoders must produce what a generic decoder reads back
// as the intended document.

func TestPutRecordsResultEncodings(t *testing.T) {
	res := putRecordsResult{FailedRecordCount: 1, Records: []store.PutRecordResult{
		{ShardID: "shardId-000000000000", SequenceNumber: "49590338271490256608559692538361571095921575989136588898"},
		{ErrorCode: "ProvisionedThroughputExceededException", ErrorMessage: "Rate exceeded for \"shard\" \\ \n\x01 \xff <&> \u2028"},
	}}
	type entry struct {
		SequenceNumber, ShardId, ErrorCode, ErrorMessage string
	}
	type doc struct {
		FailedRecordCount int
		Records           []entry
		EncryptionType    string
	}
	want := doc{FailedRecordCount: 1, EncryptionType: "NONE", Records: []entry{
		{SequenceNumber: res.Records[0].SequenceNumber, ShardId: res.Records[0].ShardID},
		{ErrorCode: res.Records[1].ErrorCode, ErrorMessage: "Rate exceeded for \"shard\" \\ \n\x01 \ufffd <&> \u2028"},
	}}
	var fromJSON, fromCBOR doc
	if err := json.Unmarshal(res.appendJSON(nil), &fromJSON); err != nil {
		t.Fatalf("JSON: %v\n%s", err, res.appendJSON(nil))
	}
	if err := cbor.Unmarshal(res.appendCBOR(nil), &fromCBOR); err != nil {
		t.Fatalf("CBOR: %v", err)
	}
	if !reflect.DeepEqual(fromJSON, want) {
		t.Errorf("JSON decodes to %+v, want %+v", fromJSON, want)
	}
	if !reflect.DeepEqual(fromCBOR, want) {
		t.Errorf("CBOR decodes to %+v, want %+v", fromCBOR, want)
	}
}

func TestGetRecordsResultEncodings(t *testing.T) {
	at := time.UnixMilli(1700000000123)
	res := &getRecordsResult{
		Records: []store.Record{
			{SequenceNumber: "1", PartitionKey: "k\"ey", Data: []byte{0, 1, 2, 255}, ArrivalTime: at},
			{SequenceNumber: "2", PartitionKey: "k2", Data: []byte{}, ArrivalTime: at.Add(time.Millisecond)},
		},
		NextShardIterator:  "",
		MillisBehindLatest: 42,
		ChildShards: []store.ChildShard{{ShardID: "shardId-000000000002", ParentShards: []string{"shardId-000000000000"},
			HashKeyRange: store.HashKeyRange{StartingHashKey: "0", EndingHashKey: "10"}}},
	}
	type rec struct {
		SequenceNumber string
		Data           []byte
		PartitionKey   string
	}
	type child struct {
		ShardId      string
		ParentShards []string
		HashKeyRange struct{ StartingHashKey, EndingHashKey string }
	}
	type doc struct {
		Records            []rec
		NextShardIterator  *string
		MillisBehindLatest int64
		ChildShards        []child
	}
	var fromJSON, fromCBOR doc
	if err := json.Unmarshal(res.appendJSON(nil), &fromJSON); err != nil {
		t.Fatalf("JSON: %v\n%s", err, res.appendJSON(nil))
	}
	if err := cbor.Unmarshal(res.appendCBOR(nil), &fromCBOR); err != nil {
		t.Fatalf("CBOR: %v", err)
	}
	for name, d := range map[string]doc{"JSON": fromJSON, "CBOR": fromCBOR} {
		if len(d.Records) != 2 || d.Records[0].PartitionKey != `k"ey` || string(d.Records[0].Data) != "\x00\x01\x02\xff" ||
			len(d.Records[1].Data) != 0 || d.Records[1].SequenceNumber != "2" {
			t.Errorf("%s records = %+v", name, d.Records)
		}
		if d.NextShardIterator != nil {
			t.Errorf("%s: NextShardIterator present at the end of a closed shard", name)
		}
		if d.MillisBehindLatest != 42 {
			t.Errorf("%s: MillisBehindLatest = %d", name, d.MillisBehindLatest)
		}
		if len(d.ChildShards) != 1 || d.ChildShards[0].ShardId != "shardId-000000000002" || d.ChildShards[0].HashKeyRange.EndingHashKey != "10" ||
			len(d.ChildShards[0].ParentShards) != 1 {
			t.Errorf("%s: ChildShards = %+v", name, d.ChildShards)
		}
	}

	// Timestamps: plain decimal seconds in JSON, tag 1 milliseconds in CBOR.
	var rawJSON struct {
		Records []struct{ ApproximateArrivalTimestamp json.RawMessage }
	}
	if err := json.Unmarshal(res.appendJSON(nil), &rawJSON); err != nil {
		t.Fatal(err)
	}
	if got := string(rawJSON.Records[0].ApproximateArrivalTimestamp); got != "1700000000.123" {
		t.Errorf("JSON timestamp = %s", got)
	}
	var rawCBOR struct {
		Records []struct {
			ApproximateArrivalTimestamp cbor.Tag
			Data                        cbor.RawMessage
		}
	}
	if err := cbor.Unmarshal(res.appendCBOR(nil), &rawCBOR); err != nil {
		t.Fatal(err)
	}
	if ts := rawCBOR.Records[0].ApproximateArrivalTimestamp; ts.Number != 1 || ts.Content != uint64(1700000000123) {
		t.Errorf("CBOR timestamp = tag %d %v", ts.Number, ts.Content)
	}
	if major := rawCBOR.Records[0].Data[0] >> 5; major != 2 {
		t.Errorf("CBOR Data has major type %d, want 2 (byte string)", major)
	}

	t.Run("an open shard's answer carries the next iterator", func(t *testing.T) {
		open := &getRecordsResult{Records: nil, NextShardIterator: "it", MillisBehindLatest: 0}
		for name, b := range map[string][]byte{"JSON": open.appendJSON(nil)} {
			if string(b) != `{"Records":[],"NextShardIterator":"it","MillisBehindLatest":0}` {
				t.Errorf("%s = %s", name, b)
			}
		}
		var d doc
		if err := cbor.Unmarshal(open.appendCBOR(nil), &d); err != nil || d.NextShardIterator == nil || *d.NextShardIterator != "it" || d.Records == nil {
			t.Errorf("CBOR = %+v, %v", d, err)
		}
	})
}

// fastDecodeCases are JSON bodies on which the hand-written decoders must
// agree with encoding/json, success or failure. They also seed FuzzDecodeJSON.
var fastDecodeCases = []struct {
	op   string
	body string
}{
	{"PutRecords", `{"StreamName":"s","Records":[{"Data":"aGVsbG8=","PartitionKey":"k"},{"Data":"","PartitionKey":"k2","ExplicitHashKey":"7"}]}`},
	{"PutRecords", ` {"records":[{"data":"AA==","partitionkey":"x"}], "streamarn":"arn:aws:kinesis:us-east-1:000000000000:stream/s"} `},
	{"PutRecords", `{"Records":[{"Data":"AA==","PartitionKey":"a"}],"Records":[{"PartitionKey":"b"},null]}`},
	{"PutRecords", `{"Records":[{"Data":"AA==","PartitionKey":"a"},{"Data":"AQ==","PartitionKey":"b"}],"Records":[null]}`},
	{"PutRecords", `{"Records":[{"Data":"AA==","PartitionKey":"a"},{"Data":"AQ==","PartitionKey":"b"}],"Records":[null],"Records":[{},{"ExplicitHashKey":"1"}]}`},
	{"PutRecords", `{"Records":[],"StreamName":null,"DryRun":false,"Unknown":{"a":[1,2,{"b":null}],"c":-1.5e10}}`},
	{"PutRecords", `{"Records":null}`},
	{"PutRecords", `{"Records":[{"Data":"AA\nAA\r\nAA==","PartitionKey":"\u00e9\ud83d\ude00\ud800x\u0041\ud800\u0041\udc00 \"\\\/\b\f\n\r\t é"}]}`},
	{"PutRecords", `{"Records":[{"Data":"AAAA","PartitionKey":"\ud83d\ud83d\ude00"}],"DryRun":true,"StreamARN":"\u0061"}`},
	{"PutRecords", `{"Records":[{"Data":"AAAA","PartitionKey":"\u12G4"}]}`},
	{"PutRecords", `{"DryRun":tru}`},
	{"PutRecords", `{"DryRun":1}`},
	{"PutRecords", `{"Records":[{"Data":"AA==","PartitionKey":"bad utf8 ` + "\xff\xfe" + `"}]}`},
	{"PutRecords", `{"Records":[{"Data":"A","PartitionKey":"k"}]}`},
	{"PutRecords", `{"Records":[{"Data":5}]}`},
	{"PutRecords", `{"Records":[}`},
	{"PutRecords", `{"Records":[1]}`},
	{"PutRecords", `{"Records":{}}`},
	{"PutRecords", `{"ſtreamName":"fold"}`},
	{"PutRecords", `{"StreamName":"s"} x`},
	{"PutRecords", `{"StreamName":"s",}`},
	{"PutRecords", `{"a":01}`},
	{"PutRecords", `{"a":"\x"}`},
	{"PutRecords", "{\"a\":\"tab\there\"}"},
	{"PutRecords", `null`},
	{"PutRecords", ``},
	{"PutRecord", `{"StreamName":"s","Data":"aGk=","PartitionKey":"p","ExplicitHashKey":"1","SequenceNumberForOrdering":"2","DryRun":true}`},
	{"PutRecord", `{"Data":"","PartitionKey":""}`},
	{"PutRecord", `{"Data":"A","PartitionKey":""}`},
	{"PutRecord", `{"Data":"\n","PartitionKey":""}`},
	{"PutRecord", `{"DryRun":"yes"}`},
	{"GetRecords", `{"ShardIterator":"abc","Limit":100,"StreamARN":"arn"}`},
	{"GetRecords", `{"ShardIterator":"abc","Limit":1.5}`},
	{"GetRecords", `{"Limit":-0}`},
	{"GetRecords", `{"Limit":99999999999999999999}`},
	{"GetRecords", `{"Limit":1e2}`},
	{"GetRecords", `{"Limit":"1"}`},
	{"GetRecords", `{"Limit":null,"ShardIterator":null}`},
}

func TestFastJSONDecodersAgreeWithEncodingJSON(t *testing.T) {
	h := newHandler(nil, Options{})
	for _, c := range fastDecodeCases {
		checkFastDecoder(t, h, h.ops[c.op], []byte(c.body))
	}
}

// checkFastDecoder compares an operation's hand-written JSON decoder with
// the generic one.
func checkFastDecoder(t *testing.T, h *handler, o operation, body []byte) {
	t.Helper()
	if o.decodeJSON == nil {
		return
	}
	ref := o.newInput()
	refErr := h.codecs.decode(formatJSON, body, ref)
	fast, fastErr := o.decodeJSON(body)
	if (refErr == nil) != (fastErr == nil) {
		t.Fatalf("%s %q: encoding/json says %v, the fast decoder says %v", o.name, body, refErr, fastErr)
	}
	for _, err := range []error{refErr, fastErr} {
		if err != nil && toAPIError(err).Code != codeSerialization {
			t.Fatalf("%s %q: decode error %v is not a SerializationException", o.name, body, err)
		}
	}
	if refErr == nil && !reflect.DeepEqual(ref, fast) {
		rj, _ := json.Marshal(ref)
		fj, _ := json.Marshal(fast)
		t.Fatalf("%s %q decodes differently:\nencoding/json %s\nfast          %s", o.name, body, rj, fj)
	}
}
