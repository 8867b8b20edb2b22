"""Strings of the shared digit picker (ui/digit_input.py; keys `digit.`)."""

EN = {
    "digit.source": "Input image",
    "digit.source.index": "Test image by index",
    "digit.source.class": "Test image by class",
    "digit.source.draw": "Draw a digit",
    "digit.source.upload": "Upload a photo",
    "digit.index": "Test image index",
    "digit.class.mnist": "Digit",
    "digit.class.fashion": "Class",
    "digit.nth": "Which one of that class (0 = first)",
    "digit.upload": "A photo or scan of one handwritten digit",
    "digit.caption.test": "test image #{index} (label {label})",
    "digit.caption.draw": "your drawing, as a 28×28 MNIST-style image",
    "digit.caption.upload": "your picture {file}, as a 28×28 MNIST-style image",
    "digit.draw.hint": "Draw one digit, white on black, filling most of the square.",
    "digit.prediction": "**Prediction: {label}** (probability {p:.1f}%)",
    "digit.axis.mnist": "digit",
    "digit.axis.fashion": "class",
    "digit.axis.prob": "probability",
    "digit.upload.hint": "Upload a photo or scan of one digit (PNG, JPEG, …): dark pen on light paper, or "
    "light on dark. It is cropped, scaled and centred the way MNIST was made.",
}

ZH = {
    "digit.source": "输入图像",
    "digit.source.index": "按序号选测试图像",
    "digit.source.class": "按类别选测试图像",
    "digit.source.draw": "手写一个数字",
    "digit.source.upload": "上传照片",
    "digit.index": "测试图像序号",
    "digit.class.mnist": "数字",
    "digit.class.fashion": "类别",
    "digit.nth": "该类别的第几张（0 = 第一张）",
    "digit.upload": "一个手写数字的照片或扫描件",
    "digit.caption.test": "测试图像 #{index}（标签 {label}）",
    "digit.caption.draw": "你写的数字，已处理成 28×28 的 MNIST 风格图像",
    "digit.caption.upload": "你的图片 {file}，已处理成 28×28 的 MNIST 风格图像",
    "digit.draw.hint": "在黑色方框中用白色写一个数字，尽量写满方框。",
    "digit.prediction": "**预测：{label}**（概率 {p:.1f}%）",
    "digit.axis.mnist": "数字",
    "digit.axis.fashion": "类别",
    "digit.axis.prob": "概率",
    "digit.upload.hint": "请上传一个数字的照片或扫描件（PNG、JPEG 等）：浅色纸上的深色笔迹，或深底浅字都可以。"
    "它会像制作 MNIST 时那样被裁剪、缩放并居中。",
}
