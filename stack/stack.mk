# Deployment targets of the CDK app (main.go + stack/). Included by the
# top-level Makefile. The CDK CLI is pinned: bump CDK_CLI_VERSION after
# `npm view aws-cdk version` and a `make synth`.
GO              ?= go
BIN             ?= bin
CDK_CLI_VERSION ?= 2.1148.1
CDK             ?= npx --yes aws-cdk@$(CDK_CLI_VERSION)
CDK_ARGS        ?=
LAMBDA_NAMES    := preprocess start-job job-state postprocess transform validate notify
LAMBDA_BIN      := $(BIN)/lambdas
# Offline synth: a dummy environment unless real credentials say otherwise.
SYNTH_ENV       := CDK_DEFAULT_ACCOUNT=$${CDK_DEFAULT_ACCOUNT:-123456789012} CDK_DEFAULT_REGION=$${CDK_DEFAULT_REGION:-us-east-1}

.PHONY: lambdas synth deploy diff destroy diagram

lambdas: ## build the Lambda binaries (linux/arm64) into bin/lambdas/<name>/bootstrap
	@set -e; for name in $(LAMBDA_NAMES); do \
	  mkdir -p $(LAMBDA_BIN)/$$name; \
	  GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w' \
	    -o $(LAMBDA_BIN)/$$name/bootstrap ./lambdas/$$name; \
	done; \
	echo "lambdas: built $(words $(LAMBDA_NAMES)) into $(LAMBDA_BIN)/"

# The stack needs every binary: say which one is missing before the CDK does.
define check_lambdas
	@missing=""; for name in $(LAMBDA_NAMES); do \
	  [ -f $(LAMBDA_BIN)/$$name/bootstrap ] || missing="$$missing $$name"; \
	done; \
	if [ -n "$$missing" ]; then echo "$@: no bootstrap for:$$missing (lambdas/<name>/main.go missing?)" >&2; exit 1; fi
endef

synth: lambdas ## synthesize the CloudFormation template into cdk.out/ (offline, dummy account)
	$(check_lambdas)
	$(SYNTH_ENV) $(CDK) synth --quiet $(CDK_ARGS)
	@echo "synth: template in cdk.out/"

diff: lambdas ## compare the deployed stack with the local one (needs credentials)
	$(check_lambdas)
	$(CDK) diff $(CDK_ARGS)

deploy: lambdas ## deploy the stack to the account of the current AWS credentials
	$(check_lambdas)
	$(CDK) deploy --all $(CDK_ARGS)

destroy: ## delete the stack (the data bucket is retained unless destroyData=true)
	$(CDK) destroy --all $(CDK_ARGS)

diagram: ## regenerate static/state-machines.md (Mermaid) from the ASL files
	@mkdir -p static
	$(GO) run ./stack/cmd/diagram -o static/state-machines.md
