"""Letters and coupons: geometry in mm (`geometry`), page models, the reportlab writer, QR drawing, fonts.

Pipeline: campaign + piece data → page model (elements with positions in mm) → PDF (reportlab).
"""
