"""Feature-map viewer strings (keys `feat.`)."""

EN = {
    "feat.intro": "What does a trained network compute? Forward hooks record the output of every layer for "
    "one digit (no change to the model, unlike the slides' example 7 which returns them from "
    "forward), and PCA / t-SNE draw whole layers for many digits as maps.",
    "feat.model.title": "1. The model",
    "feat.source": "Which model",
    "feat.source.session": "Trained on the trainer page",
    "feat.source.upload": "Upload a saved model",
    "feat.source.quick": "Quick default",
    "feat.session.none": "No model has been trained in this session yet: train one on the MNIST CNN trainer "
    "page, or choose the quick default.",
    "feat.session.caption": "Model from the trainer page: {name}, test accuracy {acc:.1f}%.",
    "feat.upload": "Weights file (.safetensors, saved by the trainer page)",
    "feat.upload.hint": "Upload a .safetensors file saved by the trainer page.",
    "feat.upload.caption": "Uploaded model: {name} ({file}).",
    "feat.quick.model": "Architecture",
    "feat.quick.hint": "The quick default trains {name} for one epoch on {n} real MNIST images (seconds on a "
    "GPU, "
    "about ten on a laptop CPU). Once trained it is shared by everyone using this server.",
    "feat.quick.train": "Train the quick model",
    "feat.quick.progress.start": "Training…",
    "feat.quick.progress": "Training… loss {loss:.3f}, accuracy {acc:.1%}",
    "feat.quick.caption": "Quick default: {name}, one epoch on {n} training images, test accuracy {acc:"
    ".1f}%.",
    "feat.input.title": "2. The input",
    "feat.index": "Test image index",
    "feat.axis.digit": "digit",
    "feat.layers.title": "3. Layer by layer",
    "feat.walk": "The shape walk: every layer's output shape",
    "feat.col.layer": "layer",
    "feat.col.type": "type",
    "feat.col.shape": "output shape (no batch)",
    "feat.layer": "Layer",
    "feat.shared": "One colour scale for all channels",
    "feat.shared.help": "On: channels can be compared (a dim map is a weak response). Off: each channel is "
    "stretched to its own range, so faint patterns become visible.",
    "feat.channel": "Channel to enlarge",
    "feat.channel.title": "{layer}, channel {k}: values from {lo:.2f} to {hi:.2f}",
    "feat.scale.signed": "The values are signed (before a ReLU): blue is negative, white is zero, red is "
    "positive.",
    "feat.scale.positive": "The values are ≥ 0 (after a ReLU or pooling): dark is 0, yellow is the largest.",
    "feat.grid.caption": "{layer}: {c} feature maps, output shape {shape}",
    "feat.kernels.title": "The first layer's kernels ({layer})",
    "feat.kernels.caption": "{c} kernels of {k}×{k}, each on its own colour scale (red: positive weight, "
    "blue: negative). With enough training some become small edge and stroke "
    "detectors; after a short run they stay close to their random start.",
    "feat.embed.title": "4. Whole layers as maps: PCA and t-SNE",
    "feat.embed.explain": "Each dot is one test image, placed by that layer's output for it and coloured by "
    "its "
    "true digit. **PCA** is a linear projection onto the two directions of largest "
    "variance: distances are honest, but classes that differ in a non-linear way "
    "overlap. "
    "**t-SNE** keeps every point's neighbours close (the perplexity is about how many):"
    " "
    "clusters show up clearly, but distances between clusters and their sizes mean "
    "little. "
    "Compare the layers from left to right: the classes separate with depth.",
    "feat.elayers": "Layers (up to 4)",
    "feat.n": "Test images",
    "feat.method": "Method",
    "feat.method.both": "PCA and t-SNE",
    "feat.method.pca": "PCA",
    "feat.method.tsne": "t-SNE",
    "feat.perplexity": "t-SNE perplexity",
    "feat.perplexity.help": "About how many neighbours each point keeps. Small: many small clumps; large: "
    "more global structure. Typical values are 5 to 50.",
    "feat.embed.go": "Compute the maps",
    "feat.embed.running": "Computing the layers for {n} test images, then PCA / t-SNE…",
    "feat.embed.stale": "The settings changed since these maps were computed: press “Compute the maps” to "
    "update.",
    "feat.embed.caption": "{n} test images; t-SNE perplexity {perplexity:g}. Hover over a dot to see its "
    "digit.",
    "feat.embed.report": "The course's project report (003) found the same: PCA, which only follows linear "
    "structure, mixes the classes, while t-SNE, which keeps neighbourhoods, shows "
    "clearer "
    "clusters; and one class stayed poorly clustered whatever the perplexity or number "
    "of "
    "iterations. Try it: which digits overlap, and in which layer do they come apart?",
}

ZH = {
    "feat.intro": "训练好的网络到底算了什么？前向钩子（forward hook）记录一个数字在每一层的输出"
    "（不需要修改模型，而课件例子 7 需要在 forward 中返回中间结果）；PCA / t-SNE 把许多数字"
    "在整层上的输出画成二维图。",
    "feat.model.title": "1. 模型",
    "feat.source": "使用哪个模型",
    "feat.source.session": "训练页面训练的模型",
    "feat.source.upload": "上传保存的模型",
    "feat.source.quick": "快速默认模型",
    "feat.session.none": "本会话还没有训练过模型：请在“MNIST 卷积网络训练”页面训练一个，或选择快速默认模型。",
    "feat.session.caption": "来自训练页面的模型：{name}，测试准确率 {acc:.1f}%。",
    "feat.upload": "权重文件（.safetensors，由训练页面保存）",
    "feat.upload.hint": "请上传训练页面保存的 .safetensors 文件。",
    "feat.upload.caption": "上传的模型：{name}（{file}）。",
    "feat.quick.model": "网络结构",
    "feat.quick.hint": "快速默认模型：在 {n} 张真实 MNIST 图像上训练 {name} 一个轮次（GPU 上几秒，笔记本 CPU "
    "上约十秒）。"
    "训练好后，本服务器上的所有人共用它。",
    "feat.quick.train": "训练快速模型",
    "feat.quick.progress.start": "训练中…",
    "feat.quick.progress": "训练中… 损失 {loss:.3f}，准确率 {acc:.1%}",
    "feat.quick.caption": "快速默认模型：{name}，在 {n} 张训练图像上训练一个轮次，测试准确率 {acc:.1f}%。",
    "feat.input.title": "2. 输入",
    "feat.index": "测试图像序号",
    "feat.axis.digit": "数字",
    "feat.layers.title": "3. 逐层查看",
    "feat.walk": "形状变化：每一层的输出形状",
    "feat.col.layer": "层",
    "feat.col.type": "类型",
    "feat.col.shape": "输出形状（不含批维度）",
    "feat.layer": "层",
    "feat.shared": "所有通道共用一个颜色刻度",
    "feat.shared.help": "开：可以比较各通道（颜色暗表示响应弱）。关：每个通道按自己的范围拉伸，"
    "微弱的模式也能看到。",
    "feat.channel": "放大第几个通道",
    "feat.channel.title": "{layer}，通道 {k}：数值从 {lo:.2f} 到 {hi:.2f}",
    "feat.scale.signed": "数值有正有负（在 ReLU 之前）：蓝色为负，白色为零，红色为正。",
    "feat.scale.positive": "数值都 ≥ 0（在 ReLU 或池化之后）：深色为 0，黄色为最大值。",
    "feat.grid.caption": "{layer}：{c} 个特征图，输出形状 {shape}",
    "feat.kernels.title": "第一层的卷积核（{layer}）",
    "feat.kernels.caption": "{c} 个 {k}×{k} 的卷积核，各自使用自己的颜色刻度（红：正权重，蓝：负权重）。"
    "训练充分后，有些会变成小的边缘和笔画检测器；"
    "训练时间短时，它们仍接近随机初始值。",
    "feat.embed.title": "4. 整层降维图：PCA 与 t-SNE",
    "feat.embed.explain": "每个点是一张测试图像，位置由它在该层的输出决定，颜色是它的真实数字。"
    "**PCA** 是线性投影，投到方差最大的两个方向上：距离是真实的，"
    "但以非线性方式区分的类别会重叠。"
    "**t-SNE** 让每个点的近邻保持靠近（困惑度大约就是近邻的个数）：聚类清晰可见，"
    "但簇与簇之间的距离和簇的大小意义不大。从左到右比较各层：类别随深度逐渐分开。",
    "feat.elayers": "层（最多 4 个）",
    "feat.n": "测试图像数量",
    "feat.method": "方法",
    "feat.method.both": "PCA 和 t-SNE",
    "feat.method.pca": "PCA",
    "feat.method.tsne": "t-SNE",
    "feat.perplexity": "t-SNE 困惑度（perplexity）",
    "feat.perplexity.help": "大约是每个点保留的近邻个数。小：许多小团；大：更多全局结构。常用 5 到 50。",
    "feat.embed.go": "计算降维图",
    "feat.embed.running": "正在计算 {n} 张测试图像在各层的输出，然后做 PCA / t-SNE…",
    "feat.embed.stale": "计算之后设置已改变：请点击“计算降维图”更新。",
    "feat.embed.caption": "{n} 张测试图像；t-SNE 困惑度 {perplexity:g}。把鼠标移到点上可以看到对应的数字。",
    "feat.embed.report": "课程的项目报告（003）也得到同样的结论：PCA 只能反映线性结构，类别混在一起；"
    "t-SNE 保留邻域关系，聚类更清晰；而且无论怎样调整困惑度和迭代次数，"
    "总有一个类别聚得不好。"
    "试一试：哪些数字会重叠？它们在哪一层分开？",
}
