// Package awsenv loads the AWS SDK configuration once per process and builds
// clients whose endpoints can be pointed at local servers, so the same
// handler code runs in AWS, in tests and in the local runtime.
//
// Endpoints follow the SDK's own settings: AWS_ENDPOINT_URL for every
// service, or AWS_ENDPOINT_URL_<SERVICE> (AWS_ENDPOINT_URL_S3,
// AWS_ENDPOINT_URL_BEDROCK, AWS_ENDPOINT_URL_SFN, AWS_ENDPOINT_URL_DYNAMODB,
// AWS_ENDPOINT_URL_SNS). S3 uses path-style addressing whenever an S3
// endpoint is overridden (local servers do not do virtual hosts) or
// BBO_S3_PATH_STYLE=true.
package awsenv

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Load reads the SDK configuration from the environment (region,
// credentials, endpoints, retries).
func Load(ctx context.Context, opts ...func(*config.LoadOptions) error) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	return cfg, nil
}

// S3 builds an S3 client from cfg, path-style when the endpoint is local.
func S3(cfg aws.Config) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = PathStyle() || cfg.BaseEndpoint != nil
	})
}

// PathStyle reports whether S3 should use path-style addressing.
func PathStyle() bool {
	if v, err := strconv.ParseBool(os.Getenv("BBO_S3_PATH_STYLE")); err == nil {
		return v
	}
	return os.Getenv("AWS_ENDPOINT_URL_S3") != "" || os.Getenv("AWS_ENDPOINT_URL") != ""
}

// Static returns a configuration for local endpoints: fixed test
// credentials, region us-east-1, and every service at endpoint (as
// AWS_ENDPOINT_URL would set it). Tests and the local runtime use it so no
// real AWS credentials are read or needed.
func Static(endpoint string) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  aws.CredentialsProviderFunc(staticCreds),
		BaseEndpoint: aws.String(endpoint),
	}
}

func staticCreds(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: "bbo-local", SecretAccessKey: "bbo-local-secret", Source: "bbo-local"}, nil
}
