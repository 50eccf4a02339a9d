"""Reading returned coupons: image intake → located coupons → code + tick-box readings with confidence.

Everything here is a pure function of images and geometry; nothing touches the store. Matching the
readings to pieces happens in `mailing.matching`.
"""
