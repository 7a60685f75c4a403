# Analytics daemon modules that unit tests link (like field.mk): the pure
# forecast maths (forecast_math.c) and the CSV writer (csv.c), with the
# daemon's header folder on the include path.
ANALYTICS_DIR := $(ROOT)/services/analytics
ANALYTICS_UNIT_SRCS := $(ANALYTICS_DIR)/forecast_math.c $(ANALYTICS_DIR)/csv.c

$(OUT)/test_analytics: test_analytics.c $(ANALYTICS_UNIT_SRCS) $(wildcard $(ANALYTICS_DIR)/*.h) $(LIBHD)
	@mkdir -p $(OUT)
	$(CC) $(CFLAGS) -I$(ANALYTICS_DIR) $(CMOCKA_CFLAGS) $< $(ANALYTICS_UNIT_SRCS) -o $@ $(LIBHD) $(LDFLAGS) $(CMOCKA_LIBS) $(PKG_LIBS)
