package delivery

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// The examples of Firehose's "Custom prefixes for Amazon S3 objects" page,
// evaluated at 10:30 AM UTC on August 27, 2018 (and 23:00 on July 6 for
// the Hive-style one).
func TestPrefixesEvaluateAsFirehoseDocumentsThem(t *testing.T) {
	aug27 := time.Date(2018, 8, 27, 10, 30, 0, 0, time.UTC)
	jul6 := time.Date(2018, 7, 6, 23, 0, 0, 0, time.UTC)
	cases := []struct {
		name, prefix, errPrefix string
		at                      time.Time
		want, wantErr           string // regexps
		invalid                 string
	}{
		{name: "an unspecified prefix is the default yyyy/MM/dd/HH/",
			prefix: "", errPrefix: "myFirehoseFailures/!{firehose:error-output-type}/", at: aug27,
			want: `^2018/08/27/10/$`, wantErr: `^myFirehoseFailures/processing-failed/$`},
		{name: "a prefix with expressions needs an ErrorOutputPrefix",
			prefix: "!{timestamp:yyyy/MM/dd}", invalid: "ErrorOutputPrefix: cannot be empty when Prefix contains expressions"},
		{name: "random strings are 11 characters and timestamps repeat the same instant",
			prefix:    "myFirehose/DeliveredYear=!{timestamp:yyyy}/anyMonth/rand=!{firehose:random-string}",
			errPrefix: "myFirehoseFailures/!{firehose:error-output-type}/!{timestamp:yyyy}/anyMonth/!{timestamp:dd}", at: aug27,
			want: `^myFirehose/DeliveredYear=2018/anyMonth/rand=[a-z0-9]{11}$`, wantErr: `^myFirehoseFailures/processing-failed/2018/anyMonth/27$`},
		{name: "Hive-style partitions",
			prefix:    "myPrefix/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/",
			errPrefix: "myErrorPrefix/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/!{firehose:error-output-type}", at: jul6,
			want: `^myPrefix/year=2018/month=07/day=06/hour=23/$`, wantErr: `^myErrorPrefix/year=2018/month=07/day=06/hour=23/processing-failed$`},
		{name: "a prefix without a timestamp gets the default time prefix appended",
			prefix: "myFirehosePrefix/", at: aug27,
			want: `^myFirehosePrefix/2018/08/27/10/$`, wantErr: `^processing-failed/2018/08/27/10/$`},
		{name: "an error prefix without expressions gets the type and time appended",
			prefix: "data/", errPrefix: "errors/", at: aug27,
			want: `^data/2018/08/27/10/$`, wantErr: `^errors/processing-failed/2018/08/27/10/$`},
		{name: "quoted literals and two-letter years",
			prefix: "!{timestamp:'y'yy'm'M'd'd'-'HHmmss.SSS}/", errPrefix: "e/!{firehose:error-output-type}", at: aug27.Add(1500 * time.Millisecond),
			want: `^y18m8d27-103001\.500/$`},
		{name: "error-output-type is only for ErrorOutputPrefix",
			prefix: "a/!{firehose:error-output-type}/", errPrefix: "e/", invalid: "allowed only in ErrorOutputPrefix"},
		{name: "an ErrorOutputPrefix with expressions needs the error type",
			prefix: "a/", errPrefix: "e/!{timestamp:yyyy}/", invalid: "must contain !{firehose:error-output-type}"},
		{name: "unsupported pattern letters are refused",
			prefix: "!{timestamp:EEE}/", errPrefix: "e/", invalid: `pattern letter "E" is not supported`},
		{name: "month names are refused",
			prefix: "!{timestamp:MMM}/", errPrefix: "e/", invalid: "month names are not supported"},
		{name: "unknown namespaces are refused",
			prefix: "!{aws:region}/", errPrefix: "e/", invalid: `unknown namespace "aws"`},
		{name: "unclosed expressions are refused",
			prefix: "!{timestamp:yyyy", errPrefix: "e/", invalid: "no closing '}'"},
		{name: "partition keys need dynamic partitioning",
			prefix: "!{partitionKeyFromQuery:k}/", errPrefix: "e/", invalid: "need DynamicPartitioningConfiguration.Enabled"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, e, err := compilePrefixes(c.prefix, c.errPrefix, false, nil, false, "ExtendedS3DestinationConfiguration")
			if c.invalid != "" {
				if err == nil || !strings.Contains(err.Error(), c.invalid) {
					t.Fatalf("err = %v, want one containing %q", err, c.invalid)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.eval(&keyValues{time: c.at})
			if err != nil {
				t.Fatal(err)
			}
			if !regexp.MustCompile(c.want).MatchString(got) {
				t.Errorf("prefix = %q, want %s", got, c.want)
			}
			if c.wantErr != "" {
				got, err := e.eval(&keyValues{time: c.at, errorType: ErrProcessingFailed})
				if err != nil {
					t.Fatal(err)
				}
				if !regexp.MustCompile(c.wantErr).MatchString(got) {
					t.Errorf("error prefix = %q, want %s", got, c.wantErr)
				}
			}
		})
	}
}

func TestDynamicPartitionKeysComeFromTheRecordOrTheTransformation(t *testing.T) {
	fp, err := parseFieldPath("$.customer['id']")
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := compilePrefixes("customer=!{partitionKeyFromQuery:c}/t=!{partitionKeyFromLambda:t}/!{timestamp:yyyy}/", "err/!{firehose:error-output-type}/",
		true, map[string]*fieldPath{"c": fp}, true, "S3")
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.eval(&keyValues{time: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), query: map[string]string{"c": "42"}, lambda: map[string]string{"t": "AMZN"}})
	if err != nil || got != "customer=42/t=AMZN/2024/" {
		t.Fatalf("got %q, %v", got, err)
	}
	if _, err := p.eval(&keyValues{query: map[string]string{}}); err == nil {
		t.Fatal("a missing key evaluated")
	}
	if _, _, err := compilePrefixes("!{partitionKeyFromQuery:x}/", "e/", true, map[string]*fieldPath{}, false, "S3"); err == nil || !strings.Contains(err.Error(), "not declared") {
		t.Fatalf("undeclared key: %v", err)
	}
	if _, _, err := compilePrefixes("plain/", "e/", true, nil, false, "S3"); err == nil || !strings.Contains(err.Error(), "must use !{partitionKeyFromQuery") {
		t.Fatalf("dynamic without keys: %v", err)
	}
}

func TestObjectNamesFollowFirehoseSuffix(t *testing.T) {
	n := objectName("orders", 1, time.Date(2018, 8, 27, 10, 30, 5, 0, time.UTC), ".gz")
	if !regexp.MustCompile(`^orders-1-2018-08-27-10-30-05-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.gz$`).MatchString(n) {
		t.Fatalf("name %q", n)
	}
}

func TestValidationNamesTheFirehoseField(t *testing.T) {
	size := func(n int) *int { return &n }
	cases := []struct {
		def  Definition
		want string
	}{
		{Definition{DeliveryStreamName: "bad name"}, "DeliveryStreamName"},
		{Definition{DeliveryStreamName: "a"}, "exactly one destination"},
		{Definition{DeliveryStreamName: "a", ExtendedS3DestinationConfiguration: &ExtendedS3DestinationConfiguration{BucketARN: "bucket"}}, "ExtendedS3DestinationConfiguration.BucketARN"},
		{Definition{DeliveryStreamName: "a", ExtendedS3DestinationConfiguration: &ExtendedS3DestinationConfiguration{BucketARN: "arn:aws:s3:::b1b", CompressionFormat: "LZ4"}}, "ExtendedS3DestinationConfiguration.CompressionFormat"},
		{Definition{DeliveryStreamName: "a", ExtendedS3DestinationConfiguration: &ExtendedS3DestinationConfiguration{BucketARN: "arn:aws:s3:::b1b",
			BufferingHints: &BufferingHints{SizeInMBs: size(129), IntervalInSeconds: size(60)}}}, "BufferingHints.SizeInMBs"},
		{Definition{DeliveryStreamName: "a", ExtendedS3DestinationConfiguration: &ExtendedS3DestinationConfiguration{BucketARN: "arn:aws:s3:::b1b",
			BufferingHints: &BufferingHints{SizeInMBs: size(1), IntervalInSeconds: size(901)}}}, "BufferingHints.IntervalInSeconds"},
		{Definition{DeliveryStreamName: "a", ExtendedS3DestinationConfiguration: &ExtendedS3DestinationConfiguration{BucketARN: "arn:aws:s3:::b1b",
			BufferingHints: &BufferingHints{SizeInMBs: size(1)}}}, "set both SizeInMBs and IntervalInSeconds"},
		{Definition{DeliveryStreamName: "a", ExtendedS3DestinationConfiguration: &ExtendedS3DestinationConfiguration{BucketARN: "arn:aws:s3:::b1b", CustomTimeZone: "Mars/Olympus"}}, "CustomTimeZone"},
		{Definition{DeliveryStreamName: "a", ExtendedS3DestinationConfiguration: &ExtendedS3DestinationConfiguration{BucketARN: "arn:aws:s3:::b1b", FileExtension: "gz"}}, "FileExtension"},
		{Definition{DeliveryStreamName: "a", ExtendedS3DestinationConfiguration: &ExtendedS3DestinationConfiguration{BucketARN: "arn:aws:s3:::b1b",
			ProcessingConfiguration: &ProcessingConfiguration{Processors: []Processor{{Type: "Lambda"}}}}}, "Processors[0].Type"},
		{Definition{DeliveryStreamName: "a", ExtendedS3DestinationConfiguration: &ExtendedS3DestinationConfiguration{BucketARN: "arn:aws:s3:::b1b",
			ProcessingConfiguration: &ProcessingConfiguration{KdaTransformation: &Transformation{Script: "exports.handler = ("}}}}, "KdaTransformation.Script"},
		{Definition{DeliveryStreamName: "a", SinkDestination: &SinkDestination{}}, "SinkDestination.Type"},
	}
	for _, c := range cases {
		err := c.def.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err = %v, want it to name %s", c.def, err, c.want)
		}
	}
}
