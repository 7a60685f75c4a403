# Field daemon modules that unit tests link: its pure input readers
# (services/field/geo.c), with the daemon's header folder on the include path.
FIELD_DIR := $(ROOT)/services/field

$(OUT)/test_field_geo: test_field_geo.c $(FIELD_DIR)/geo.c $(wildcard $(FIELD_DIR)/*.h) $(LIBHD)
	@mkdir -p $(OUT)
	$(CC) $(CFLAGS) -I$(FIELD_DIR) $(CMOCKA_CFLAGS) $< $(FIELD_DIR)/geo.c -o $@ $(LIBHD) $(LDFLAGS) $(CMOCKA_LIBS) $(PKG_LIBS)
