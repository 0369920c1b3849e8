package nexmark

import (
	"fmt"
	"strings"

	"github.com/kdaproject/kda/operators/input"
)

// Column names of the input stream, one per JSON field: the event type,
// then each event kind's fields under its prefix.
var kindColumns = map[Kind][]input.Column{
	KindPerson: {
		{Name: "PERSON_ID", SQLType: "BIGINT", Mapping: "$.person.id"},
		{Name: "PERSON_NAME", SQLType: "VARCHAR(32)", Mapping: "$.person.name"},
		{Name: "PERSON_EMAILADDRESS", SQLType: "VARCHAR(32)", Mapping: "$.person.emailAddress"},
		{Name: "PERSON_CREDITCARD", SQLType: "VARCHAR(32)", Mapping: "$.person.creditCard"},
		{Name: "PERSON_CITY", SQLType: "VARCHAR(16)", Mapping: "$.person.city"},
		{Name: "PERSON_STATE", SQLType: "VARCHAR(2)", Mapping: "$.person.state"},
		{Name: "PERSON_DATETIME", SQLType: "TIMESTAMP", Mapping: "$.person.dateTime"},
		{Name: "PERSON_EXTRA", SQLType: "VARCHAR(256)", Mapping: "$.person.extra"},
	},
	KindAuction: {
		{Name: "AUCTION_ID", SQLType: "BIGINT", Mapping: "$.auction.id"},
		{Name: "AUCTION_ITEMNAME", SQLType: "VARCHAR(32)", Mapping: "$.auction.itemName"},
		{Name: "AUCTION_DESCRIPTION", SQLType: "VARCHAR(128)", Mapping: "$.auction.description"},
		{Name: "AUCTION_INITIALBID", SQLType: "BIGINT", Mapping: "$.auction.initialBid"},
		{Name: "AUCTION_RESERVE", SQLType: "BIGINT", Mapping: "$.auction.reserve"},
		{Name: "AUCTION_DATETIME", SQLType: "TIMESTAMP", Mapping: "$.auction.dateTime"},
		{Name: "AUCTION_EXPIRES", SQLType: "TIMESTAMP", Mapping: "$.auction.expires"},
		{Name: "AUCTION_SELLER", SQLType: "BIGINT", Mapping: "$.auction.seller"},
		{Name: "AUCTION_CATEGORY", SQLType: "BIGINT", Mapping: "$.auction.category"},
		{Name: "AUCTION_EXTRA", SQLType: "VARCHAR(512)", Mapping: "$.auction.extra"},
	},
	KindBid: {
		{Name: "BID_AUCTION", SQLType: "BIGINT", Mapping: "$.bid.auction"},
		{Name: "BID_BIDDER", SQLType: "BIGINT", Mapping: "$.bid.bidder"},
		{Name: "BID_PRICE", SQLType: "BIGINT", Mapping: "$.bid.price"},
		{Name: "BID_CHANNEL", SQLType: "VARCHAR(16)", Mapping: "$.bid.channel"},
		{Name: "BID_URL", SQLType: "VARCHAR(128)", Mapping: "$.bid.url"},
		{Name: "BID_DATETIME", SQLType: "TIMESTAMP", Mapping: "$.bid.dateTime"},
		{Name: "BID_EXTRA", SQLType: "VARCHAR(128)", Mapping: "$.bid.extra"},
	},
}

// InputSchema maps Nexmark records to EVENT_TYPE and the columns of the
// given kinds (all three when none is given). A record of another kind
// gives NULL in those columns, so queries filter on EVENT_TYPE.
func InputSchema(kinds ...Kind) input.Schema {
	if len(kinds) == 0 {
		kinds = []Kind{KindPerson, KindAuction, KindBid}
	}
	s := input.Schema{
		RecordFormat: input.RecordFormat{Type: input.FormatJSON},
		Columns:      []input.Column{{Name: "EVENT_TYPE", SQLType: "INTEGER", Mapping: "$.event_type"}},
	}
	for _, k := range kinds {
		s.Columns = append(s.Columns, kindColumns[k]...)
	}
	return s
}

// Query is one Nexmark query written in kda's SQL over the input stream
// SOURCE_SQL_STREAM_001 (see InputSchema).
type Query struct {
	// Name is q0, q1, ….
	Name string
	// Title says what the query computes.
	Title string
	// Kinds are the event kinds it reads (the input schema maps those).
	Kinds []Kind
	// SQL is the application code; Output the stream holding the result.
	SQL    string
	Output string
	// Note says how the query departs from the Flink Nexmark SQL, if it
	// does.
	Note string
}

// Views: in-application streams of one kind each, for the queries that
// read several kinds (Flink's Nexmark defines the same as views).
const (
	personView = `CREATE STREAM PERSON (ID BIGINT, NAME VARCHAR(32), EMAIL VARCHAR(32), CITY VARCHAR(16), STATE VARCHAR(2), DATETIME TIMESTAMP);
CREATE PUMP PERSON_PUMP AS INSERT INTO PERSON
  SELECT STREAM PERSON_ID, PERSON_NAME, PERSON_EMAILADDRESS, PERSON_CITY, PERSON_STATE, PERSON_DATETIME
  FROM SOURCE_SQL_STREAM_001 WHERE EVENT_TYPE = 0;
`
	auctionView = `CREATE STREAM AUCTION (ID BIGINT, SELLER BIGINT, CATEGORY BIGINT, INITIALBID BIGINT, DATETIME TIMESTAMP, EXPIRES TIMESTAMP);
CREATE PUMP AUCTION_PUMP AS INSERT INTO AUCTION
  SELECT STREAM AUCTION_ID, AUCTION_SELLER, AUCTION_CATEGORY, AUCTION_INITIALBID, AUCTION_DATETIME, AUCTION_EXPIRES
  FROM SOURCE_SQL_STREAM_001 WHERE EVENT_TYPE = 1;
`
	bidView = `CREATE STREAM BID (AUCTION BIGINT, BIDDER BIGINT, PRICE BIGINT, DATETIME TIMESTAMP, EXTRA VARCHAR(128));
CREATE PUMP BID_PUMP AS INSERT INTO BID
  SELECT STREAM BID_AUCTION, BID_BIDDER, BID_PRICE, BID_DATETIME, BID_EXTRA
  FROM SOURCE_SQL_STREAM_001 WHERE EVENT_TYPE = 2;
`
)

// Queries are the Nexmark queries q0–q8 in kda's SQL.
func Queries() []Query {
	bid := []Kind{KindBid}
	return []Query{
		{
			Name: "q0", Title: "pass-through: every bid", Kinds: bid, Output: "NEXMARK_Q0",
			SQL: `CREATE STREAM NEXMARK_Q0 (AUCTION BIGINT, BIDDER BIGINT, PRICE BIGINT, DATETIME TIMESTAMP, EXTRA VARCHAR(128));
CREATE PUMP Q0 AS INSERT INTO NEXMARK_Q0
  SELECT STREAM BID_AUCTION, BID_BIDDER, BID_PRICE, BID_DATETIME, BID_EXTRA
  FROM SOURCE_SQL_STREAM_001 WHERE EVENT_TYPE = 2;`,
		},
		{
			Name: "q1", Title: "currency conversion: bid prices in euros", Kinds: bid, Output: "NEXMARK_Q1",
			SQL: `CREATE STREAM NEXMARK_Q1 (AUCTION BIGINT, BIDDER BIGINT, PRICE DOUBLE, DATETIME TIMESTAMP, EXTRA VARCHAR(128));
CREATE PUMP Q1 AS INSERT INTO NEXMARK_Q1
  SELECT STREAM BID_AUCTION, BID_BIDDER, 0.908E0 * BID_PRICE, BID_DATETIME, BID_EXTRA
  FROM SOURCE_SQL_STREAM_001 WHERE EVENT_TYPE = 2;`,
		},
		{
			Name: "q2", Title: "selection: bids on auctions whose id is a multiple of 123", Kinds: bid, Output: "NEXMARK_Q2",
			SQL: `CREATE STREAM NEXMARK_Q2 (AUCTION BIGINT, PRICE BIGINT);
CREATE PUMP Q2 AS INSERT INTO NEXMARK_Q2
  SELECT STREAM BID_AUCTION, BID_PRICE
  FROM SOURCE_SQL_STREAM_001 WHERE EVENT_TYPE = 2 AND MOD(BID_AUCTION, 123) = 0;`,
		},
		{
			Name: "q3", Title: "local item suggestion: category-10 auctions of sellers in OR, ID or CA", Kinds: []Kind{KindPerson, KindAuction},
			Output: "NEXMARK_Q3",
			Note:   "Flink joins all persons ever seen; here an auction sees the persons of the last 10 minutes (the active ones are far more recent)",
			SQL: personView + auctionView + `CREATE STREAM NEXMARK_Q3 (NAME VARCHAR(32), CITY VARCHAR(16), STATE VARCHAR(2), ID BIGINT);
CREATE PUMP Q3 AS INSERT INTO NEXMARK_Q3
  SELECT STREAM P.NAME, P.CITY, P.STATE, A.ID
  FROM AUCTION AS A
  JOIN PERSON OVER (RANGE INTERVAL '10' MINUTE PRECEDING) AS P
  ON A.SELLER = P.ID
  WHERE A.CATEGORY = 10 AND (P.STATE = 'OR' OR P.STATE = 'ID' OR P.STATE = 'CA');`,
		},
		{
			Name: "q4", Title: "average closing price per category", Kinds: []Kind{KindAuction, KindBid},
			Output: "NEXMARK_Q4",
			Note:   "an auction's closing price is its highest bid within its lifetime, taken per 10-second window of the bids' ROWTIME, then averaged per category per 10 seconds",
			SQL: auctionView + bidView + `CREATE STREAM WINNING (ID BIGINT, CATEGORY BIGINT, FINAL BIGINT);
CREATE PUMP WINNING_PUMP AS INSERT INTO WINNING
  SELECT STREAM A.ID, A.CATEGORY, MAX(B.PRICE)
  FROM BID AS B
  JOIN AUCTION OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS A
  ON A.ID = B.AUCTION AND B.DATETIME BETWEEN A.DATETIME AND A.EXPIRES
  GROUP BY A.ID, A.CATEGORY, STEP(B.ROWTIME BY INTERVAL '10' SECOND);
CREATE STREAM NEXMARK_Q4 (CATEGORY BIGINT, AVG_FINAL DOUBLE);
CREATE PUMP Q4 AS INSERT INTO NEXMARK_Q4
  SELECT STREAM CATEGORY, AVG(CAST(FINAL AS DOUBLE))
  FROM WINNING
  GROUP BY CATEGORY, STEP(WINNING.ROWTIME BY INTERVAL '10' SECOND);`,
		},
		{
			Name: "q5", Title: "hot items: the auctions with the most bids in each 10-second window, every 2 seconds", Kinds: bid,
			Output: "NEXMARK_Q5",
			Note:   "MAX_BIDS, each window's highest count, needs no join; naming the auctions that reach it joins the counts with it",
			SQL: `CREATE STREAM AUCTION_BIDS (AUCTION BIGINT, NUM BIGINT, STARTTIME TIMESTAMP);
CREATE PUMP COUNTS AS INSERT INTO AUCTION_BIDS
  SELECT STREAM BID_AUCTION, COUNT(*), HOP_START(BID_DATETIME, INTERVAL '2' SECOND, INTERVAL '10' SECOND)
  FROM SOURCE_SQL_STREAM_001 WHERE EVENT_TYPE = 2
  GROUP BY HOP(BID_DATETIME, INTERVAL '2' SECOND, INTERVAL '10' SECOND), BID_AUCTION;
CREATE STREAM MAX_BIDS (STARTTIME TIMESTAMP, MAXN BIGINT);
CREATE PUMP MAX_PUMP AS INSERT INTO MAX_BIDS
  SELECT STREAM STARTTIME, MAX(NUM)
  FROM AUCTION_BIDS
  GROUP BY STARTTIME, STEP(AUCTION_BIDS.ROWTIME BY INTERVAL '2' SECOND);
CREATE STREAM NEXMARK_Q5 (AUCTION BIGINT, NUM BIGINT, STARTTIME TIMESTAMP);
CREATE PUMP Q5 AS INSERT INTO NEXMARK_Q5
  SELECT STREAM A.AUCTION, A.NUM, A.STARTTIME
  FROM MAX_BIDS AS M
  JOIN AUCTION_BIDS OVER (RANGE INTERVAL '4' SECOND PRECEDING) AS A
  ON A.STARTTIME = M.STARTTIME AND A.NUM >= M.MAXN;`,
		},
		{
			Name: "q6", Title: "average selling price of each seller's last 10 closed auctions", Kinds: []Kind{KindAuction, KindBid},
			Output: "NEXMARK_Q6",
			Note:   "closing prices as in q4",
			SQL: auctionView + bidView + `CREATE STREAM WINNING (ID BIGINT, SELLER BIGINT, FINAL BIGINT);
CREATE PUMP WINNING_PUMP AS INSERT INTO WINNING
  SELECT STREAM A.ID, A.SELLER, MAX(B.PRICE)
  FROM BID AS B
  JOIN AUCTION OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS A
  ON A.ID = B.AUCTION AND B.DATETIME BETWEEN A.DATETIME AND A.EXPIRES
  GROUP BY A.ID, A.SELLER, STEP(B.ROWTIME BY INTERVAL '10' SECOND);
CREATE STREAM NEXMARK_Q6 (SELLER BIGINT, AVG_PRICE DOUBLE);
CREATE PUMP Q6 AS INSERT INTO NEXMARK_Q6
  SELECT STREAM SELLER, AVG(CAST(FINAL AS DOUBLE)) OVER (PARTITION BY SELLER ROWS 9 PRECEDING)
  FROM WINNING;`,
		},
		{
			Name: "q7", Title: "highest bid: the bids at each 10-second window's highest price", Kinds: bid,
			Output: "NEXMARK_Q7",
			SQL: bidView + `CREATE STREAM MAX_PRICE (MAXPRICE BIGINT, WEND TIMESTAMP);
CREATE PUMP MAX_PUMP AS INSERT INTO MAX_PRICE
  SELECT STREAM MAX(PRICE), TUMBLE_END(DATETIME, INTERVAL '10' SECOND)
  FROM BID
  GROUP BY TUMBLE(DATETIME, INTERVAL '10' SECOND);
CREATE STREAM NEXMARK_Q7 (AUCTION BIGINT, PRICE BIGINT, BIDDER BIGINT, DATETIME TIMESTAMP, EXTRA VARCHAR(128));
CREATE PUMP Q7 AS INSERT INTO NEXMARK_Q7
  SELECT STREAM B.AUCTION, B.PRICE, B.BIDDER, B.DATETIME, B.EXTRA
  FROM MAX_PRICE AS M
  JOIN BID OVER (RANGE INTERVAL '10' SECOND PRECEDING) AS B
  ON B.PRICE = M.MAXPRICE AND B.DATETIME >= M.WEND - INTERVAL '10' SECOND AND B.DATETIME < M.WEND;`,
		},
		{
			Name: "q8", Title: "monitor new users: people who opened an auction in the 10-second window they registered in", Kinds: []Kind{KindPerson, KindAuction},
			Output: "NEXMARK_Q8",
			SQL: `CREATE STREAM NEW_PEOPLE (ID BIGINT, NAME VARCHAR(32), STARTTIME TIMESTAMP);
CREATE PUMP PEOPLE_PUMP AS INSERT INTO NEW_PEOPLE
  SELECT STREAM PERSON_ID, PERSON_NAME, TUMBLE_START(PERSON_DATETIME, INTERVAL '10' SECOND)
  FROM SOURCE_SQL_STREAM_001 WHERE EVENT_TYPE = 0
  GROUP BY TUMBLE(PERSON_DATETIME, INTERVAL '10' SECOND), PERSON_ID, PERSON_NAME;
CREATE STREAM SELLERS (SELLER BIGINT, STARTTIME TIMESTAMP);
CREATE PUMP SELLERS_PUMP AS INSERT INTO SELLERS
  SELECT STREAM AUCTION_SELLER, TUMBLE_START(AUCTION_DATETIME, INTERVAL '10' SECOND)
  FROM SOURCE_SQL_STREAM_001 WHERE EVENT_TYPE = 1
  GROUP BY TUMBLE(AUCTION_DATETIME, INTERVAL '10' SECOND), AUCTION_SELLER;
CREATE STREAM NEXMARK_Q8 (ID BIGINT, NAME VARCHAR(32), STARTTIME TIMESTAMP);
CREATE PUMP Q8 AS INSERT INTO NEXMARK_Q8
  SELECT STREAM P.ID, P.NAME, P.STARTTIME
  FROM SELLERS AS A
  JOIN NEW_PEOPLE OVER (RANGE INTERVAL '1' SECOND PRECEDING) AS P
  ON P.ID = A.SELLER AND P.STARTTIME = A.STARTTIME;`,
		},
	}
}

// Lookup finds a query by name (q0…q8, any case).
func Lookup(name string) (Query, error) {
	var names []string
	for _, q := range Queries() {
		if strings.EqualFold(q.Name, name) {
			return q, nil
		}
		names = append(names, q.Name)
	}
	return Query{}, fmt.Errorf("no Nexmark query %q (known: %s)", name, strings.Join(names, ", "))
}
