# test_attach: hd/attach.h and hd/storage.h's pure parts; storage.c (in
# libhd) links libcurl for its S3 backend.
$(OUT)/test_attach: test_attach.c $(LIBHD)
	@mkdir -p $(OUT)
	$(CC) $(CFLAGS) $(CMOCKA_CFLAGS) $< -o $@ $(LIBHD) $(LDFLAGS) $(CMOCKA_LIBS) $(PKG_LIBS) \
		$(shell pkg-config --libs libcurl)
