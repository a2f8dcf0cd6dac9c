package awskms

import "github.com/aws/aws-sdk-go-v2/service/kms"

// ClientForTest returns the Wrapper's client, for tests that administer the test KMS.
func ClientForTest(w *Wrapper) *kms.Client { return w.client }
