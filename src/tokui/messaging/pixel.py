"""The open-tracking image: one transparent pixel, never cached (each open of the mail asks again)."""

# A 1×1 transparent GIF (made with Pillow: Image.new("P", (1, 1)).save(..., "GIF", transparency=0)).
PIXEL_GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,"
    b"\x00\x00\x00\x00\x01\x00\x01\x00\x00\x08\x04\x00\x01\x04\x04\x00;"
)
NO_STORE = "no-store, private"
