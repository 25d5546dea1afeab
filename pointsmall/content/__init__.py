"""What operators publish and what members tell them: announcements (站内通知), home-page
banners and feedback (意见反馈)."""
