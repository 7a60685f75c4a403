# Gateway modules that unit tests link: included by tests/unit/Makefile
# (after its OUT, LIBHD and CMOCKA_* definitions) with `include gateway.mk`.
# The static pattern rule below takes precedence over the generic
# $(OUT)/test_% rule for these programs and adds the gateway's pure sources.
GATEWAY_DIR := $(ROOT)/gateway
GATEWAY_UNIT_SRCS := $(GATEWAY_DIR)/route.c $(GATEWAY_DIR)/ratelimit.c $(GATEWAY_DIR)/cors.c \
	$(GATEWAY_DIR)/http1.c $(GATEWAY_DIR)/proxy.c $(GATEWAY_DIR)/addrcount.c \
	$(GATEWAY_DIR)/etag.c $(GATEWAY_DIR)/static.c $(GATEWAY_DIR)/sse_pos.c $(GATEWAY_DIR)/sse_filter.c \
	$(GATEWAY_DIR)/sse_auth.c
GATEWAY_UNIT_TESTS := $(OUT)/test_route $(OUT)/test_ratelimit $(OUT)/test_http1 $(OUT)/test_proxy \
	$(OUT)/test_addrcount $(OUT)/test_etag $(OUT)/test_static $(OUT)/test_sse $(OUT)/test_sse_auth

$(GATEWAY_UNIT_TESTS): $(OUT)/%: %.c $(GATEWAY_UNIT_SRCS) $(wildcard $(GATEWAY_DIR)/*.h $(GATEWAY_DIR)/*.def) $(LIBHD)
	@mkdir -p $(OUT)
	$(CC) $(CFLAGS) -I$(GATEWAY_DIR) $(CMOCKA_CFLAGS) $< $(GATEWAY_UNIT_SRCS) -o $@ $(LIBHD) $(LDFLAGS) $(CMOCKA_LIBS) $(PKG_LIBS)
