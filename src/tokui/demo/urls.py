from django.urls import URLPattern, path

from tokui.demo import shop_views

app_name = "demo"
urlpatterns: list[URLPattern] = [
    path("shop/", shop_views.product_list, name="shop_home"),
    path("shop/categories/<str:category_slug>/", shop_views.product_list, name="shop_category"),
    path("shop/products/<str:sku>/", shop_views.product_detail, name="shop_product"),
    path("shop/cart/", shop_views.cart, name="shop_cart"),
    path("shop/cart/add/", shop_views.cart_add, name="shop_cart_add"),
    path("shop/cart/update/", shop_views.cart_update, name="shop_cart_update"),
    path("shop/favorites/toggle/", shop_views.favorite_toggle, name="shop_favorite_toggle"),
    path("shop/login/", shop_views.login, name="shop_login"),
    path("shop/logout/", shop_views.logout, name="shop_logout"),
    path("shop/checkout/", shop_views.checkout, name="shop_checkout"),
    path("shop/thanks/", shop_views.thanks, name="shop_thanks"),
]
